"""The wire to a bayou server: gRPC for the lake's API, Arrow Flight for query results.

Both share the server's one port and carry the API key as `authorization: Bearer KEY`. Errors
become the typed exceptions of `bayou.exceptions`, chosen by the kind the server attaches.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional, TypeVar
from urllib.parse import urlparse

import grpc
import pyarrow as pa
from google.protobuf import any_pb2
import pyarrow.flight as flight

from . import exceptions as exc
from .v1 import bayou_pb2 as pb
from .v1 import bayou_pb2_grpc as pb_grpc

# The kinds a server attaches to its errors (`bayou-error-kind`), and what each one raises.
KINDS: Mapping[str, type[exc.BauplanError]] = {
    "unknown-ref": exc.RefNotFoundError,
    "ref-exists": exc.AlreadyExistsError,
    "not-a-branch": exc.NotABranchError,
    "unknown-table": exc.TableNotFoundError,
    "table-exists": exc.AlreadyExistsError,
    "unknown-namespace": exc.NamespaceNotFoundError,
    "conflict": exc.BranchHeadChangedError,
    "invalid-argument": exc.InvalidArgumentError,
    "unauthenticated": exc.UnauthorizedError,
    "unavailable": exc.UnavailableError,
    "usage": exc.ProjectError,
    "forbidden": exc.ForbiddenError,
}

Overrides = Mapping[str, "type[exc.BauplanError]"]
T = TypeVar("T")

# Run records, code snapshots and projects may be larger than gRPC's 4 MiB default.
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]

# How a query ticket travels in Arrow Flight (the server answers Flight SQL on the same port).
QUERY_TICKET_TYPE_URL = "type.googleapis.com/bayou.v1.QueryTicket"


class Connection:
    """One server, one API key: `call` and `stream` reach the gRPC API, `query` Flight."""

    def __init__(self, url: str, api_key: Optional[str], ca_cert: Optional[bytes] = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise exc.InvalidArgumentError(
                f"'{url}' is not a server URL\n  hint: give it as http://HOST:PORT or https://HOST:PORT"
            )
        self.url = url
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        target = f"{parsed.hostname}:{port}"
        if parsed.scheme == "https":
            credentials = grpc.ssl_channel_credentials(root_certificates=ca_cert)
            self._channel = grpc.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)
            location = f"grpc+tls://{target}"
        else:
            self._channel = grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
            location = f"grpc+tcp://{target}"
        self.stub = pb_grpc.LakeStub(self._channel)
        self._metadata: tuple[tuple[str, str], ...] = ()
        headers: list[tuple[bytes, bytes]] = []
        if api_key:
            self._metadata = (("authorization", f"Bearer {api_key.strip()}"),)
            headers = [(b"authorization", f"Bearer {api_key.strip()}".encode())]
        self._flight_options = flight.FlightCallOptions(headers=headers)
        self._flight_location = location
        self._ca_cert = ca_cert
        self._flight: Optional[flight.FlightClient] = None

    def close(self) -> None:
        self._channel.close()
        if self._flight is not None:
            self._flight.close()

    def call(self, method: str, request: Any, overrides: Optional[Overrides] = None) -> Any:
        """Calls unary `method` with `request`; errors raise typed exceptions."""
        try:
            return getattr(self.stub, method)(request, metadata=self._metadata)
        except grpc.RpcError as e:
            raise self.error(e, overrides) from None

    def stream(self, method: str, request: Any) -> Iterator[Any]:
        """Calls server-streaming `method`; yields each message."""
        try:
            yield from getattr(self.stub, method)(request, metadata=self._metadata)
        except grpc.RpcError as e:
            raise self.error(e, None) from None

    def error(self, e: grpc.RpcError, overrides: Optional[Overrides]) -> exc.BauplanError:
        call: Any = e  # a grpc.Call: code(), details(), trailing_metadata()
        kind = dict(call.trailing_metadata() or ()).get("bayou-error-kind")
        message = call.details() or str(e)
        if kind is None:
            code = call.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                return exc.UnavailableError(
                    f"cannot reach the bayou server at {self.url}: {message}\n"
                    "  hint: check the URL (remote=, BAYOU_REMOTE) and that the server runs"
                )
            if code == grpc.StatusCode.UNAUTHENTICATED:
                return exc.UnauthorizedError(message)
            return exc.BauplanError(message)
        cls = (overrides or {}).get(kind) or KINDS.get(kind, exc.BauplanError)
        return cls(message)

    def query(self, commit: str, sql: str) -> "Batches":
        """The rows of `sql` over the tables of `commit`, as Arrow record batches."""
        if self._flight is None:
            self._flight = flight.FlightClient(self._flight_location, tls_root_certs=self._ca_cert)
        query = pb.QueryTicket(commit=commit, sql=sql).SerializeToString()
        wrapped = any_pb2.Any(type_url=QUERY_TICKET_TYPE_URL, value=query)
        ticket = flight.Ticket(wrapped.SerializeToString())
        flight_client = self._flight
        reader = self._flight_call(
            lambda: flight_client.do_get(ticket, options=self._flight_options).to_reader()
        )
        return Batches(self, reader)

    def _flight_call(self, work: Callable[[], T]) -> T:
        """`work()`, with Flight's errors raised as bayou's."""
        try:
            return work()
        except flight.FlightUnauthenticatedError as e:
            raise exc.UnauthorizedError(_flight_message(e)) from None
        except flight.FlightUnavailableError as e:
            raise exc.UnavailableError(
                f"cannot reach the bayou server at {self.url}: {_flight_message(e)}"
            ) from None
        except pa.ArrowInvalid as e:
            raise exc.InvalidArgumentError(_flight_message(e)) from None
        except (flight.FlightError, pa.ArrowException, OSError) as e:
            raise exc.BauplanError(_flight_message(e)) from None


class Batches:
    """A query's record batches as they arrive; errors met while reading are bayou's too."""

    def __init__(self, conn: Connection, reader: pa.RecordBatchReader) -> None:
        self._conn = conn
        self._reader = reader
        self.schema: pa.Schema = reader.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = self._conn._flight_call(self._reader.read_next_batch)
            except StopIteration:
                return
            yield batch

    def read(self, max_rows: Optional[int] = None) -> pa.Table:
        """All the rows, or the first `max_rows` (reading no further than needed)."""
        batches: list[pa.RecordBatch] = []
        rows = 0
        for batch in self:
            if max_rows is not None and rows + batch.num_rows >= max_rows:
                batches.append(batch.slice(0, max_rows - rows))
                break
            batches.append(batch)
            rows += batch.num_rows
        return pa.Table.from_batches(batches, schema=self.schema)


def _flight_message(e: Exception) -> str:
    """The server's message inside pyarrow's wording of a Flight error."""
    text = str(e)
    marker = "with message: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return text.split(". Detail:", 1)[0].split(". gRPC client debug context:", 1)[0]
