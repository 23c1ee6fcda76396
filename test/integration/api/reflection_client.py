"""A strict gRPC reflection client on Debian's python3-grpcio and python3-protobuf.

It knows no Herald proto: it builds the reflection protocol's messages by hand, fetches every
file of every listed service through reflection into an EMPTY descriptor pool (which refuses a
file whose dependencies are missing, as grpcurl does), resolves each method's message types,
then makes a real call whose request and response use google.protobuf.Struct and Timestamp.
Prints one JSON report on stdout. Usage: reflection_client.py HOST:PORT API_KEY WORKFLOW_ID
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

F = descriptor_pb2.FieldDescriptorProto


def reflection_classes():
    file = descriptor_pb2.FileDescriptorProto(name="strict_client/reflection.proto", package="grpc.reflection.v1", syntax="proto3")

    def message(name, fields, oneofs=()):
        m = file.message_type.add(name=name)
        for oneof in oneofs:
            m.oneof_decl.add(name=oneof)
        for field_name, number, kind, label, type_name, oneof_index in fields:
            f = m.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                f.type_name = type_name
            if oneof_index is not None:
                f.oneof_index = oneof_index

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("ServerReflectionRequest", [
        ("host", 1, F.TYPE_STRING, opt, None, None),
        ("file_by_filename", 3, F.TYPE_STRING, opt, None, 0),
        ("file_containing_symbol", 4, F.TYPE_STRING, opt, None, 0),
        ("list_services", 7, F.TYPE_STRING, opt, None, 0),
    ], ["message_request"])
    message("FileDescriptorResponse", [("file_descriptor_proto", 1, F.TYPE_BYTES, rep, None, None)])
    message("ServiceResponse", [("name", 1, F.TYPE_STRING, opt, None, None)])
    message("ListServiceResponse", [("service", 1, F.TYPE_MESSAGE, rep, ".grpc.reflection.v1.ServiceResponse", None)])
    message("ErrorResponse", [("error_code", 1, F.TYPE_INT32, opt, None, None), ("error_message", 2, F.TYPE_STRING, opt, None, None)])
    message("ServerReflectionResponse", [
        ("valid_host", 1, F.TYPE_STRING, opt, None, None),
        ("file_descriptor_response", 4, F.TYPE_MESSAGE, opt, ".grpc.reflection.v1.FileDescriptorResponse", 0),
        ("list_services_response", 6, F.TYPE_MESSAGE, opt, ".grpc.reflection.v1.ListServiceResponse", 0),
        ("error_response", 7, F.TYPE_MESSAGE, opt, ".grpc.reflection.v1.ErrorResponse", 0),
    ], ["message_response"])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_class(pool, "grpc.reflection.v1.ServerReflectionRequest"), message_class(pool, "grpc.reflection.v1.ServerReflectionResponse")


def message_class(pool, name):
    descriptor = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def main():
    address, api_key, workflow_id = sys.argv[1], sys.argv[2], sys.argv[3]
    Request, Response = reflection_classes()
    channel = grpc.insecure_channel(address)
    report = {}

    def ask(path, **kwargs):
        info = channel.stream_stream(path, request_serializer=Request.SerializeToString, response_deserializer=Response.FromString)
        return next(iter(info(iter([Request(**kwargs)]), timeout=10)))

    for version in ("v1", "v1alpha"):
        answer = ask(f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo", list_services="")
        report[f"services_{version}"] = sorted(s.name for s in answer.list_services_response.service)

    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    pool = descriptor_pool.DescriptorPool()  # empty: no well-known types preloaded
    pending = {}
    for service in report["services_v1"]:
        answer = ask(path, file_containing_symbol=service)
        if answer.HasField("error_response"):
            raise SystemExit(f"reflection error for {service}: {answer.error_response.error_message}")
        for raw in answer.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            pending.setdefault(file.name, file)
    report["dependencies"] = {name: list(f.dependency) for name, f in pending.items()}
    added = set()
    while pending:
        ready = [n for n, f in pending.items() if all(d in added for d in f.dependency)]
        if not ready:
            raise SystemExit(f"unresolvable dependencies among {sorted(pending)}")
        for name in ready:
            pool.Add(pending.pop(name))  # strict: fails if a type cannot be resolved
            added.add(name)

    methods = {}
    for service in report["services_v1"]:
        descriptor = pool.FindServiceByName(service)
        for method in descriptor.methods:
            methods[method.full_name] = [method.input_type.full_name, method.output_type.full_name]
    report["methods"] = methods
    trigger_request = pool.FindMessageTypeByName("herald.v1.CreateTriggerRequest")
    instance = pool.FindMessageTypeByName("herald.v1.TriggerInstance")
    report["payload_type"] = trigger_request.fields_by_name["payload"].message_type.full_name
    report["create_time_type"] = instance.fields_by_name["create_time"].message_type.full_name

    CreateTriggerRequest = message_class(pool, "herald.v1.CreateTriggerRequest")
    CreateTriggerResponse = message_class(pool, "herald.v1.CreateTriggerResponse")
    request = json_format.ParseDict({
        "workflowId": workflow_id,
        "idempotencyKey": "strict-client-1",
        "recipient": {"id": "py", "email": "py@example.test"},
        "payload": {"plan": "pro", "seats": 3, "tags": ["a", "b"]},
    }, CreateTriggerRequest())
    call = channel.unary_unary("/herald.v1.TriggerService/CreateTrigger", request_serializer=CreateTriggerRequest.SerializeToString, response_deserializer=CreateTriggerResponse.FromString)
    response = call(request, metadata=[("authorization", f"Bearer {api_key}")], timeout=10)
    report["create_trigger"] = json_format.MessageToDict(response)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
