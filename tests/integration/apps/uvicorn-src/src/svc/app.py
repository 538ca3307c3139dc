"""A held-out app (#12): an ASGI service in a src/ layout, run by uvicorn from the venv."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"up\n"})
