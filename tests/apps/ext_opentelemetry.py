"""opentelemetry-instrumentation-fastapi on an unchanged FastAPI app: ``instrument_app`` replaces the instance's
``build_middleware_stack`` and ``BackgroundTask.__call__``. Finished spans are kept by an ``InMemorySpanExporter``
and read back from ``GET /_otel/spans`` (excluded from the instrumentation)."""

from fastapi import APIRouter, BackgroundTasks, FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

SPANS_PATH = "/_otel/spans"
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # FastAPI's own telemetry stays off: it detects the contrib middleware
tracer = trace.get_tracer("ext_opentelemetry")
app = FastAPI()
router = APIRouter()


@app.get("/items/{item_id}")
def read_item(item_id: int):  # in the thread pool: the request's OTel context must be copied there
    with tracer.start_as_current_span("work"):
        return {"item_id": item_id}


def audit(user_id: str):  # runs through BackgroundTask.__call__, which the instrumentation patches
    with tracer.start_as_current_span("audit"):
        pass


@router.get("/users/{user_id}")
async def read_user(user_id: str, tasks: BackgroundTasks):
    tasks.add_task(audit, user_id)
    return {"user_id": user_id}


app.include_router(router, prefix="/api")


@app.get(SPANS_PATH)
def finished_spans():
    return [
        {
            "name": span.name,
            "kind": span.kind.name,
            "scope": span.instrumentation_scope.name,
            "status": span.status.status_code.name,
            "attributes": dict(span.attributes),
            "id": span.context.span_id,
            "parent": span.parent.span_id if span.parent else None,
            "trace": f"{span.context.trace_id:032x}",
        }
        for span in exporter.get_finished_spans()
    ]


FastAPIInstrumentor.instrument_app(app, excluded_urls=SPANS_PATH.lstrip("/"))
