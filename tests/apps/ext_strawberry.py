"""strawberry-graphql on an unchanged FastAPI app: ``GraphQLRouter`` is an ``APIRouter`` subclass with GET/POST
routes and a WebSocket route (graphql-transport-ws subscriptions), included under a prefix."""

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "World") -> str:
        return f"Hello {name}"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, target: int = 3) -> AsyncGenerator[int, None]:
        for i in range(target):
            yield i
            await asyncio.sleep(0)


schema = strawberry.Schema(query=Query, subscription=Subscription)
app = FastAPI()
app.include_router(GraphQLRouter(schema), prefix="/graphql")
