#!/usr/bin/env python3
"""Validates Kubernetes manifests offline, strictly (an unknown field is an error, as kubectl's server-side
field validation reports it):

- built-in kinds with kubernetes-validate (PyPI; the JSON schemas of Kubernetes' own OpenAPI, `-strict` set);
- custom resources against the openAPIV3Schema of their CRD in --crds DIR (tests/fixtures/crds/, sources in
  SOURCES.md there), with every object schema that names its properties closed (no additionalProperties
  unless the schema allows them or sets x-kubernetes-preserve-unknown-fields);
- in every custom resource, each pod template (spec.mpiReplicaSpecs.*, spec.pytorchReplicaSpecs.*,
  spec.replicaSpecs[]) again as a core PodTemplateSpec, and metadata as core ObjectMeta; a kind whose CRD is not
  committed is checked this far only, and says so.

  validate_k8s.py --crds DIR [--k8s-version 1.32] FILE...            exit 0 when every document validates
  validate_k8s.py --crds DIR --expect-fail FILE...                    exit 0 when every FILE has an error
"""
import argparse
import copy
import sys

import jsonschema
import kubernetes_validate
import yaml

TEMPLATE_PATHS = {  # kind -> where its pod templates are
    "MPIJob": ("spec", "mpiReplicaSpecs", "*"),
    "PyTorchJob": ("spec", "pytorchReplicaSpecs", "*"),
    "HyperPodPyTorchJob": ("spec", "replicaSpecs", "[]"),
}


def close_objects(schema):
    """Closes every object schema that lists properties, as a strict API server would."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        for v in schema.values():
            close_objects(v)
    elif isinstance(schema, list):
        for v in schema:
            close_objects(v)
    return schema


def load_crds(directory):
    import pathlib
    crds = {}
    for path in sorted(pathlib.Path(directory).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for ver in doc["spec"]["versions"]:
                schema = close_objects(copy.deepcopy(ver["schema"]["openAPIV3Schema"]))
                crds[(f"{group}/{ver['name']}", kind)] = (schema, path.name)
    return crds


def pod_templates(doc):
    path = TEMPLATE_PATHS.get(doc.get("kind"))
    if not path:
        return []
    nodes = [("", doc)]
    for step in path:
        nxt = []
        for where, node in nodes:
            if step == "*" and isinstance(node, dict):
                nxt += [(f"{where}.{k}", v) for k, v in node.items()]
            elif step == "[]" and isinstance(node, list):
                nxt += [(f"{where}[{i}]", v) for i, v in enumerate(node)]
            elif isinstance(node, dict) and step in node:
                nxt.append((f"{where}.{step}", node[step]))
        nodes = nxt
    return [(f"{w}.template", n["template"]) for w, n in nodes if isinstance(n, dict) and "template" in n]


def core(doc, version):
    kubernetes_validate.validate(doc, version, strict=True)


def validate_doc(doc, crds, version):
    """Returns a list of error strings (empty: valid) and notes."""
    errors, notes = [], []
    key = (doc.get("apiVersion"), doc.get("kind"))
    custom = "." in (doc.get("apiVersion") or "").split("/")[0]
    if not custom:
        try:
            core(doc, version)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(str(e))
        return errors, notes
    if key in crds:
        schema, source = crds[key]
        for e in sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path)):
            errors.append(f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message} (CRD {source})")
    else:
        notes.append(f"no CRD for {key[0]} {key[1]} under --crds: only its metadata and pod templates checked")
    meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc.get("metadata", {})}
    try:
        core(meta, version)
    except kubernetes_validate.ValidationError as e:
        errors.append(f"metadata.{'.'.join(map(str, e.path))}: {e.message}")
    for where, template in pod_templates(doc):
        try:
            core({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template},
                 version)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{where[1:]}.{'.'.join(map(str, list(e.path)[1:]))}: {e.message} (core PodTemplateSpec)")
    return errors, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crds", required=True)
    ap.add_argument("--k8s-version", default="1.32.0")
    ap.add_argument("--expect-fail", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    crds = load_crds(a.crds)
    status = 0
    for f in a.files:
        with open(f) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d]
        errs = []
        for d in docs:
            e, notes = validate_doc(d, crds, a.k8s_version)
            errs += e
            for n in notes:
                print(f"{f}: note: {n}")
        if a.expect_fail:
            if errs:
                print(f"{f}: rejected as expected: {errs[0]}")
            else:
                print(f"{f}: ERROR: expected a validation error, found none")
                status = 1
        elif errs:
            status = 1
            for e in errs:
                print(f"{f}: ERROR: {e}")
        else:
            print(f"{f}: valid ({', '.join(sorted({d['kind'] for d in docs}))})")
    return status


if __name__ == "__main__":
    sys.exit(main())
