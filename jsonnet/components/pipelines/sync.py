"""Metacontroller sync hook: per-namespace pipeline resources for Kubeflow profiles.

For every namespace labelled pipelines.kubeflow.org/enabled=true it returns the objects a
pipeline run needs there: the artifact store credentials, the launcher and metadata configs,
and the artifact proxy that lets the UI read a namespace's artifacts.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

KFP_VERSION = os.environ.get("KFP_VERSION", "2.5.0")
FRONTEND_IMAGE = os.environ.get("FRONTEND_IMAGE", "ghcr.io/kubeflow/kfp-frontend")
PIPELINE_ROOT = os.environ.get("KFP_DEFAULT_PIPELINE_ROOT", "minio://mlpipeline/v2/artifacts")
PIPELINES_NAMESPACE = os.environ.get("PIPELINES_NAMESPACE", "kubeflow")
ACCESS_KEY = os.environ.get("MINIO_ACCESS_KEY", "")
SECRET_KEY = os.environ.get("MINIO_SECRET_KEY", "")


def artifact_proxy(namespace):
    """The ml-pipeline-ui-artifact Deployment and Service for one namespace."""
    labels = {"app": "ml-pipeline-ui-artifact"}
    container = {
        "name": "ml-pipeline-ui-artifact",
        "image": FRONTEND_IMAGE + ":" + KFP_VERSION,
        "ports": [{"name": "http", "containerPort": 3000}],
        "env": [{"name": "MINIO_NAMESPACE", "value": PIPELINES_NAMESPACE}],
        "resources": {"requests": {"cpu": "10m", "memory": "70Mi"}, "limits": {"memory": "500Mi"}},
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "ml-pipeline-ui-artifact", "namespace": namespace, "labels": labels},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"serviceAccountName": "default-editor", "containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "ml-pipeline-ui-artifact", "namespace": namespace, "labels": labels},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 3000}]}},
    ]


def desired(namespace):
    """Every child object the controller keeps in a pipelines-enabled namespace."""
    return [
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "mlpipeline-minio-artifact", "namespace": namespace},
         "stringData": {"accesskey": ACCESS_KEY, "secretkey": SECRET_KEY}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kfp-launcher", "namespace": namespace},
         "data": {"defaultPipelineRoot": PIPELINE_ROOT}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "metadata-grpc-configmap", "namespace": namespace},
         "data": {"METADATA_GRPC_SERVICE_HOST": "metadata-grpc-service." + PIPELINES_NAMESPACE,
                  "METADATA_GRPC_SERVICE_PORT": "8080"}},
    ] + artifact_proxy(namespace)


class Controller(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("content-length"))))
        namespace = request["object"]["metadata"]["name"]
        body = json.dumps({"status": {"kubeflow-pipelines-ready": "True"},
                           "attachments": desired(namespace)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("", 8080), Controller).serve_forever()
