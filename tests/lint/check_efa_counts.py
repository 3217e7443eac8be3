#!/usr/bin/env python3
"""Checks that every EFA launch template in the given CloudFormation templates attaches exactly as many
`InterfaceType: efa` interfaces as architectures/instances.json gives its instance type (`efa`: EFA devices,
one per network card), on network cards 0..N-1, and that every GPU instance type of the catalog with EFA has
one (in the first template, batch.yaml).

  check_efa_counts.py CATALOG TEMPLATE...              exit 0 when they agree
  check_efa_counts.py --expect-fail CATALOG TEMPLATE   exit 0 when the template disagrees (the broken input)
"""
import json
import sys

import yaml


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):  # !Ref X -> {"Ref": X}, !If [...] -> {"Fn::If": [...]}
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor("!", _tag)


def check(catalog, path, require_all):
    errors = []
    with open(path) as f:
        tpl = yaml.load(f, Loader=CfnLoader)
    conditions = tpl.get("Conditions", {})
    seen = set()
    for name, res in tpl.get("Resources", {}).items():
        if res.get("Type") != "AWS::EC2::LaunchTemplate":
            continue
        nics = res["Properties"]["LaunchTemplateData"].get("NetworkInterfaces", [])
        efa = [n for n in nics if n.get("InterfaceType") == "efa"]
        if not efa:
            continue
        itype = res.get("Metadata", {}).get("awsdt:instance-type")
        cond = conditions.get(res.get("Condition"), {}).get("Fn::Equals")
        if cond and cond[1] != itype:
            errors.append(f"{name}: condition {res.get('Condition')} selects {cond[1]}, metadata says {itype}")
        if itype not in catalog:
            errors.append(f"{name}: instance type {itype!r} is not in the catalog")
            continue
        seen.add(itype)
        want = catalog[itype]["efa"]
        cards = sorted(n.get("NetworkCardIndex") for n in efa)
        if len(efa) != want:
            errors.append(f"{name} ({itype}): {len(efa)} EFA interfaces, the catalog says {want}")
        elif cards != list(range(want)):
            errors.append(f"{name} ({itype}): network cards {cards}, expected 0..{want - 1}")
        else:
            print(f"{path}: {name}: {itype}: {want} EFA interfaces on cards 0..{want - 1}: agrees")
        meta = res.get("Metadata", {}).get("awsdt:efa-network-cards")
        if meta is not None and meta != want:
            errors.append(f"{name} ({itype}): metadata awsdt:efa-network-cards {meta}, the catalog says {want}")
    mapping = tpl.get("Mappings", {}).get("Instances", {})
    for itype, row in mapping.items():
        if "EfaInterfaces" in row and itype in catalog and row["EfaInterfaces"] != catalog[itype]["efa"]:
            errors.append(f"Mappings.Instances.{itype}.EfaInterfaces {row['EfaInterfaces']}, catalog {catalog[itype]['efa']}")
    if require_all:
        for itype, v in sorted(catalog.items()):
            if v.get("efa", 0) > 0 and v.get("gpus", 0) > 0 and itype not in seen:
                errors.append(f"{path}: no EFA launch template for {itype} (run architectures/cloudformation/generate-batch.py)")
    return errors


def main():
    args = sys.argv[1:]
    expect_fail = args[:1] == ["--expect-fail"]
    if expect_fail:
        args = args[1:]
    with open(args[0]) as f:
        catalog = json.load(f)["instances"]
    errors = []
    for i, path in enumerate(args[1:]):
        errors += check(catalog, path, require_all=(i == 0 and not expect_fail))
    for e in errors:
        print(("rejected as expected: " if expect_fail else "ERROR: ") + e)
    if expect_fail:
        if not errors:
            print("ERROR: expected a disagreement with the catalog, found none")
        return 0 if errors else 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
