"""Files over HTTP: a service's ``{filename, content_base64}`` answer as a download, and a
browser's multipart upload as the JSON body the same route takes (the API and the web app)."""
from __future__ import annotations

import base64
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.edges import MAX_JSON_DEPTH, load_json
from kernel.errors import ValidationError

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_response(answer: dict) -> Response:
    """A service's ``{filename, content_base64}`` answer as the file itself (a download)."""
    name = answer["filename"]
    mimetype = XLSX_TYPE if name.endswith(".xlsx") else "text/csv"
    return Response(base64.b64decode(answer["content_base64"]), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def uploaded_file_body(request, max_depth: int = MAX_JSON_DEPTH) -> dict:
    """A browser form's upload (multipart: a ``file`` part and text fields) as the JSON body
    the same route takes: the file's name and its bytes in base64, the other fields as sent."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": ["send the ledger as the multipart part named 'file'"]})
    body = {key: value for key, value in request.form.items()}
    if "mapping" in body:
        try:
            body["mapping"] = load_json(body["mapping"], max_depth)
        except ValidationError:
            raise ValidationError({"mapping": ["must be a JSON object of column: the file's header"]}) from None
    return {**body, "filename": upload.filename or "ledger", "content_base64": base64.b64encode(upload.read()).decode()}
