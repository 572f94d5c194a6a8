#!/usr/bin/python3
"""A small CRI client (what crictl does, for the calls cri.bats needs): the
kubelet's side of the Container Runtime Interface, over containerd's gRPC
socket. Debian 12 ships neither crictl nor a kubelet; this speaks the same
protocol with Debian's python3-grpcio and a protoc-compiled subset of the
CRI (cri.proto beside this file). Configs are JSON in crictl's format (the
CRI messages' JSON form: pod-config.json, container-config.json).

usage: cri.py SOCKET VERB ARGS...
  version
  runp POD.json [HANDLER]            prints the pod sandbox id
  podstatus POD_ID                   prints the status as JSON
  create POD_ID CONTAINER.json POD.json   prints the container id
  start|rm CONTAINER_ID
  stop CONTAINER_ID TIMEOUT
  status CONTAINER_ID                prints the status as JSON
  exec CONTAINER_ID TIMEOUT CMD...   its stdout/stderr; exits with its code
  update CONTAINER_ID RESOURCES.json (LinuxContainerResources as JSON)
  stopp|rmp POD_ID
Errors: the gRPC status message on stderr, exit 1.
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def load_proto():
    """Compile cri.proto with protoc into a temporary module and import it."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = tempfile.mkdtemp(prefix="cri-proto.")
    try:
        subprocess.run(["protoc", f"--proto_path={here}", f"--python_out={out}", "cri.proto"], check=True)
        sys.path.insert(0, out)
        return importlib.import_module("cri_pb2")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main():
    import grpc
    from google.protobuf import json_format

    pb = load_proto()
    sock, verb, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    channel = grpc.insecure_channel("unix://" + sock)

    def call(method, request):
        response_type = getattr(pb, method + "Response")
        stub = channel.unary_unary(
            "/runtime.v1.RuntimeService/" + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        return stub(request, timeout=120)

    def from_file(message_type, path):
        with open(path) as f:
            return json_format.ParseDict(json.load(f), message_type())

    def show(message):
        print(json_format.MessageToJson(message, preserving_proto_field_name=True, including_default_value_fields=True))

    try:
        if verb == "version":
            show(call("Version", pb.VersionRequest(version="v1")))
        elif verb == "runp":
            req = pb.RunPodSandboxRequest(config=from_file(pb.PodSandboxConfig, args[0]))
            if len(args) > 1:
                req.runtime_handler = args[1]
            print(call("RunPodSandbox", req).pod_sandbox_id)
        elif verb == "podstatus":
            show(call("PodSandboxStatus", pb.PodSandboxStatusRequest(pod_sandbox_id=args[0])).status)
        elif verb == "create":
            req = pb.CreateContainerRequest(
                pod_sandbox_id=args[0],
                config=from_file(pb.ContainerConfig, args[1]),
                sandbox_config=from_file(pb.PodSandboxConfig, args[2]),
            )
            print(call("CreateContainer", req).container_id)
        elif verb == "start":
            call("StartContainer", pb.StartContainerRequest(container_id=args[0]))
        elif verb == "stop":
            call("StopContainer", pb.StopContainerRequest(container_id=args[0], timeout=int(args[1])))
        elif verb == "rm":
            call("RemoveContainer", pb.RemoveContainerRequest(container_id=args[0]))
        elif verb == "status":
            show(call("ContainerStatus", pb.ContainerStatusRequest(container_id=args[0])).status)
        elif verb == "exec":
            r = call("ExecSync", pb.ExecSyncRequest(container_id=args[0], timeout=int(args[1]), cmd=args[2:]))
            sys.stdout.buffer.write(r.stdout)
            sys.stderr.buffer.write(r.stderr)
            return r.exit_code
        elif verb == "update":
            req = pb.UpdateContainerResourcesRequest(
                container_id=args[0], linux=from_file(pb.LinuxContainerResources, args[1])
            )
            call("UpdateContainerResources", req)
        elif verb == "stopp":
            call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=args[0]))
        elif verb == "rmp":
            call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]))
        else:
            print(f"cri.py: unknown verb `{verb}`", file=sys.stderr)
            return 2
    except grpc.RpcError as e:
        print(f"cri.py: {verb}: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
