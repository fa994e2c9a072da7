#!/usr/bin/python3
"""Proves the suite's contracts work from another language.

Generates Python stubs for every .proto under proto/ (and gRPC's health and reflection
protocols) with protoc and grpc_python_plugin, imports every generated module, starts a real
service binary against the private PostgreSQL and Redis of the test run, and talks to it:
health, server reflection (services listed, descriptors served and parsed), and a call of the
customers contract through the generated stub. Run by ctest (label e2e), with Debian's own
python3 (/usr/bin/python3), which has python3-grpcio and python3-protobuf.
"""
import argparse
import importlib
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

ARGS = None


def free_port():
    """A free port below the ephemeral range (32768-60999), which clients' connections use."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 20000-31999")


def read_servers_env():
    values = {}
    with open(os.environ["CC_TEST_SERVERS_ENV"], encoding="utf-8") as env_file:
        for line in env_file:
            key, _, value = line.strip().partition("=")
            values[key] = value
    return values


def generate_stubs(source_dir, out_dir):
    roots = [source_dir / "proto", source_dir / "common" / "grpc_protos"]
    protos = []
    for root in roots:
        protos += [str(path.relative_to(root)) for path in sorted(root.rglob("*.proto"))]
    command = ["protoc", "--python_out", str(out_dir), "--grpc_python_out", str(out_dir),
               "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"]
    command += ["-I" + str(root) for root in roots] + protos
    subprocess.run(command, check=True)
    # Generated packages are plain folders; make them importable as packages (except the top
    # of grpc/, which extends the grpc library's own package instead of shadowing it).
    for folder in [p for p in out_dir.rglob("*") if p.is_dir() and p != out_dir / "grpc"]:
        (folder / "__init__.py").touch()
    return protos


class ContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc  # pylint: disable=import-outside-toplevel
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        out_dir = pathlib.Path(cls.tmp.name)
        cls.protos = generate_stubs(pathlib.Path(ARGS.source_dir), out_dir)
        sys.path.insert(0, str(out_dir))
        # grpc.health.v1 and grpc.reflection.v1alpha live beside the grpc library's own modules.
        grpc.__path__.append(str(out_dir / "grpc"))
        cls.grpc = grpc

        servers = read_servers_env()
        cls.database = "py_" + uuid.uuid4().hex[:16]
        cls.psql = ["psql", "-h", servers["CC_PG_HOST"], "-p", servers["CC_PG_PORT"], "-U",
                    servers["CC_PG_USER"], "-d", "postgres", "-qc"]
        subprocess.run(cls.psql + [f"CREATE DATABASE {cls.database}"], check=True)
        cls.addClassCleanup(subprocess.run, cls.psql + [
            f"DROP DATABASE IF EXISTS {cls.database} WITH (FORCE)"], check=False)
        cls.port = free_port()
        env = dict(os.environ,
                   CC_LISTEN=f"127.0.0.1:{cls.port}",
                   CC_POSTGRES=(f"host={servers['CC_PG_HOST']} port={servers['CC_PG_PORT']} "
                                f"user={servers['CC_PG_USER']} dbname={cls.database}"),
                   CC_REDIS=f"{servers['CC_REDIS_HOST']}:{servers['CC_REDIS_PORT']}",
                   CC_SITE="py" + uuid.uuid4().hex[:10],
                   CC_READINESS_INTERVAL="100ms")
        binary = pathlib.Path(ARGS.binary_dir) / "services" / "customers" / "cc-customers"
        cls.service = subprocess.Popen([str(binary)], env=env)
        cls.addClassCleanup(cls.stop_service)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.port}")
        cls.addClassCleanup(cls.channel.close)

    @classmethod
    def stop_service(cls):
        if cls.service.poll() is None:
            cls.service.kill()
            cls.service.wait()

    def health(self, service=""):
        from grpc.health.v1 import health_pb2, health_pb2_grpc  # pylint: disable=import-error
        stub = health_pb2_grpc.HealthStub(self.channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status

    def wait_serving(self):
        from grpc.health.v1 import health_pb2  # pylint: disable=import-error
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.health() == health_pb2.HealthCheckResponse.SERVING:
                    return
            except self.grpc.RpcError:
                pass
            time.sleep(0.1)
        self.fail("the customers service never became SERVING")

    def test_1_every_generated_module_imports(self):
        for proto in self.protos:
            module = proto[:-len(".proto")].replace("/", ".")
            importlib.import_module(module + "_pb2")
            importlib.import_module(module + "_pb2_grpc")
        from contactcentre.events.v1 import event_pb2  # pylint: disable=import-error
        event = event_pb2.Event(id="e1", site="msk")
        event.call_offered.call.call = "calls/1"
        parsed = event_pb2.Event.FromString(event.SerializeToString())
        self.assertEqual(parsed.WhichOneof("payload"), "call_offered")

    def test_2_health_of_a_running_service(self):
        from grpc.health.v1 import health_pb2  # pylint: disable=import-error
        self.wait_serving()
        self.assertEqual(self.health("contactcentre.customers.v1.CustomersService"),
                         health_pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.health("liveness"), health_pb2.HealthCheckResponse.SERVING)
        with self.assertRaises(self.grpc.RpcError) as unknown:
            self.health("no.such.Service")
        self.assertEqual(unknown.exception.code(), self.grpc.StatusCode.NOT_FOUND)

    def test_3_reflection_lists_and_describes_the_contract(self):
        from google.protobuf import descriptor_pb2  # pylint: disable=import-error
        from grpc.reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # pylint: disable=import-error
        self.wait_serving()
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="contactcentre.customers.v1.CustomersService"),
        ]
        responses = list(stub.ServerReflectionInfo(iter(requests), timeout=5))
        services = {s.name for s in responses[0].list_services_response.service}
        self.assertIn("contactcentre.customers.v1.CustomersService", services)
        self.assertIn("grpc.health.v1.Health", services)
        methods = set()
        for raw in responses[1].file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            for service in file.service:
                if service.name == "CustomersService":
                    methods = {method.name for method in service.method}
        for method in ("LookupByPhone", "CreateCustomer", "MergeCustomers", "EraseCustomer",
                       "ImportCustomers", "ListContactHistory"):
            self.assertIn(method, methods)

    def test_4_generated_stub_reaches_the_service(self):
        from contactcentre.customers.v1 import (  # pylint: disable=import-error
            customer_pb2, customers_service_pb2, customers_service_pb2_grpc)
        self.wait_serving()
        stub = customers_service_pb2_grpc.CustomersServiceStub(self.channel)
        card = customer_pb2.Customer(family_name="Питонов", given_name="Гвидо")
        card.phones.add().number.raw = "8 (495) 765-43-21"
        created = stub.CreateCustomer(
            customers_service_pb2.CreateCustomerRequest(customer=card, request_id="py-1"),
            timeout=5)
        self.assertTrue(created.name.startswith("customers/"))
        self.assertEqual(created.phones[0].number.e164, "+74957654321")
        found = stub.LookupByPhone(
            customers_service_pb2.LookupByPhoneRequest(phone_number="+7 495 765 43 21"),
            timeout=5)
        self.assertEqual(found.customer.name, created.name)
        with self.assertRaises(self.grpc.RpcError) as error:
            stub.LookupByPhone(customers_service_pb2.LookupByPhoneRequest(), timeout=5)
        self.assertEqual(error.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("phone_number", error.exception.details())

    def test_5_sigterm_stops_the_service_cleanly(self):
        self.wait_serving()
        self.service.send_signal(signal.SIGTERM)
        self.assertEqual(self.service.wait(timeout=15), 0)
        with socket.socket() as sock:
            self.assertNotEqual(sock.connect_ex(("127.0.0.1", self.port)), 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--binary-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
