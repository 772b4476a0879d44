"""OpenAPI document metadata: info, tags, servers, external docs, root_path, webhooks, callbacks."""

import importlib
import os

from pydantic import BaseModel, HttpUrl

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, APIRouter = fw.FastAPI, fw.APIRouter

description = """
ChimichangApp API helps you do awesome stuff. 🚀

## Items

You can **read items**.
"""

tags_metadata = [
    {"name": "users", "description": "Operations with users. The **login** logic is also here."},
    {
        "name": "items",
        "description": "Manage items. So _fancy_ they have their own docs.",
        "externalDocs": {"description": "Items external docs", "url": "https://fastapi.tiangolo.com/"},
    },
]

app = FastAPI(
    title="ChimichangApp",
    description=description,
    summary="Deadpool's favorite app. Nuff said.",
    version="0.0.1",
    terms_of_service="http://example.com/terms/",
    contact={"name": "Deadpoolio the Amazing", "url": "http://x-force.example.com/contact/",
             "email": "dp@x-force.example.com"},
    license_info={"name": "Apache 2.0", "identifier": "Apache-2.0"},
    openapi_tags=tags_metadata,
    servers=[
        {"url": "https://stag.example.com", "description": "Staging environment"},
        {"url": "https://prod.example.com", "description": "Production environment"},
    ],
    openapi_external_docs={"description": "More docs", "url": "https://example.com/docs"},
    root_path="/api/v1",
)


class Invoice(BaseModel):
    id: str
    title: str | None = None
    customer: str
    total: float


class InvoiceEvent(BaseModel):
    description: str
    paid: bool


class InvoiceEventReceived(BaseModel):
    ok: bool


class Subscription(BaseModel):
    username: str
    monthly_fee: float


callback_router = APIRouter()


@callback_router.post("{$callback_url}/invoices/{$request.body.id}", response_model=InvoiceEventReceived)
def invoice_notification(body: InvoiceEvent):
    pass


@app.post("/invoices/", tags=["items"], callbacks=callback_router.routes)
def create_invoice(invoice: Invoice, callback_url: HttpUrl | None = None):
    return {"msg": "Invoice received"}


@app.webhooks.post("new-subscription")
def new_subscription(body: Subscription):
    """When a new user subscribes to your service we'll send you a POST request with this data."""


@app.get("/users/", tags=["users"])
async def get_users():
    return [{"name": "Harry"}, {"name": "Ron"}]
