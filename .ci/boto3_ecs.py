"""Everyday boto3 ECS snippets, run against berth.

Each snippet is code as people write it against ECS (indexing responses
directly, waiters, paginators, modelled exceptions), so a member berth leaves
out or a shape it gets wrong fails here as it would fail them. The services
and tasks run real containers on the -dev agent (examples/web.json: busybox's
web server).

Run by .ci/boto3.sh, which starts berth -dev and sets BERTH_ECS_ENDPOINT and
the aws credentials; boto3 comes from the machine.
"""

import json
import os
import sys
import urllib.request

import boto3

ENDPOINT = os.environ["BERTH_ECS_ENDPOINT"]
HERE = os.path.dirname(os.path.abspath(__file__))
WAIT = {"Delay": 1, "MaxAttempts": 180}

ecs = boto3.client("ecs", endpoint_url=ENDPOINT, region_name="us-east-1")
passed = []


def snippet(fn):
    """Runs one snippet and names it in the output."""
    print(f"--- {fn.__name__}: {fn.__doc__.strip()}", flush=True)
    fn()
    passed.append(fn.__name__)
    return fn


@snippet
def empty_cluster_lists():
    """an empty cluster's lists are [] (resp["serviceArns"], not a KeyError)"""
    resp = ecs.create_cluster(clusterName="boto3-empty")
    cluster = resp["cluster"]
    assert cluster["status"] == "ACTIVE", cluster
    assert cluster["runningTasksCount"] == 0 and cluster["pendingTasksCount"] == 0, cluster
    assert cluster["activeServicesCount"] == 0, cluster
    assert cluster["registeredContainerInstancesCount"] == 0, cluster
    assert ecs.list_services(cluster="boto3-empty")["serviceArns"] == []
    assert ecs.list_tasks(cluster="boto3-empty")["taskArns"] == []
    assert ecs.list_container_instances(cluster="boto3-empty")["containerInstanceArns"] == []
    assert len(ecs.list_tasks(cluster="boto3-empty", desiredStatus="STOPPED")["taskArns"]) == 0


@snippet
def register_task_definition():
    """register examples/web.json; ECS's defaults come back (cpu 0, empty lists)"""
    with open(os.path.join(HERE, "..", "examples", "web.json")) as f:
        td = ecs.register_task_definition(**json.load(f))["taskDefinition"]
    assert td["family"] == "web" and td["status"] == "ACTIVE", td
    assert td["volumes"] == [] and td["placementConstraints"] == [], td
    c = td["containerDefinitions"][0]
    assert c["cpu"] == 0 and c["environment"] == [] and c["mountPoints"] == [] and c["volumesFrom"] == [], c
    assert c["portMappings"][0]["containerPort"] == 8080, c
    got = ecs.describe_task_definition(taskDefinition="web", include=["TAGS"])
    assert got["taskDefinition"]["taskDefinitionArn"] == td["taskDefinitionArn"]
    assert got["tags"] == [], got
    arns = ecs.list_task_definitions(familyPrefix="web", sort="DESC")["taskDefinitionArns"]
    assert arns[0] == td["taskDefinitionArn"], arns


@snippet
def service_stable():
    """create a service of two tasks and wait with the services_stable waiter"""
    svc = ecs.create_service(serviceName="boto3-web", taskDefinition="web", desiredCount=2)["service"]
    assert svc["desiredCount"] == 2 and svc["runningCount"] == 0, svc
    assert svc["deployments"][0]["rolloutState"] == "IN_PROGRESS", svc["deployments"]
    ecs.get_waiter("services_stable").wait(services=["boto3-web"], WaiterConfig=WAIT)
    svc = ecs.describe_services(services=["boto3-web"])["services"][0]
    assert svc["runningCount"] == 2 and svc["pendingCount"] == 0, svc
    assert len(svc["deployments"]) == 1, svc["deployments"]


@snippet
def task_running():
    """run a task, wait with the tasks_running waiter, fetch its web page"""
    resp = ecs.run_task(taskDefinition="web", startedBy="boto3")
    assert resp["failures"] == [], resp["failures"]
    arn = resp["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_running").wait(tasks=[arn], WaiterConfig=WAIT)
    task = ecs.describe_tasks(tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "RUNNING", task
    assert isinstance(task["overrides"]["containerOverrides"], list), task
    binding = task["containers"][0]["networkBindings"][0]
    assert binding["containerPort"] == 8080, binding
    with urllib.request.urlopen(f"http://127.0.0.1:{binding['hostPort']}/", timeout=10) as page:
        body = page.read().decode()
    assert "hello from berth" in body, body


@snippet
def paginate_tasks():
    """the ListTasks paginator, a page at a time, finds every task"""
    pages = ecs.get_paginator("list_tasks").paginate(PaginationConfig={"PageSize": 1})
    arns = [arn for page in pages for arn in page["taskArns"]]
    assert len(arns) == 3 and len(set(arns)) == 3, arns
    assert sorted(arns) == sorted(ecs.list_tasks()["taskArns"]), arns
    service_tasks = ecs.list_tasks(serviceName="boto3-web")["taskArns"]
    assert len(service_tasks) == 2, service_tasks


@snippet
def paginate_services():
    """the ListServices paginator, a page at a time, finds every service"""
    for i in range(3):
        ecs.create_service(serviceName=f"boto3-idle-{i}", taskDefinition="web", desiredCount=0)
    pages = ecs.get_paginator("list_services").paginate(PaginationConfig={"PageSize": 2})
    names = sorted(arn.rsplit("/", 1)[1] for page in pages for arn in page["serviceArns"])
    assert names == ["boto3-idle-0", "boto3-idle-1", "boto3-idle-2", "boto3-web"], names
    listed = ecs.list_services(maxResults=2)
    assert len(listed["serviceArns"]) == 2 and listed["nextToken"], listed


@snippet
def describe_missing():
    """what is not there: a failure for a missing service, ECS's exceptions"""
    resp = ecs.describe_services(services=["no-such-service"])
    assert resp["services"] == [] and resp["failures"][0]["reason"] == "MISSING", resp
    try:
        ecs.describe_services(cluster="no-such-cluster", services=["boto3-web"])
    except ecs.exceptions.ClusterNotFoundException:
        pass
    else:
        raise AssertionError("no ClusterNotFoundException for a missing cluster")


@snippet
def tags():
    """tag a service, list its tags, describe it with include TAGS"""
    arn = ecs.describe_services(services=["boto3-idle-0"])["services"][0]["serviceArn"]
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []
    svc = ecs.describe_services(services=["boto3-idle-0"], include=["TAGS"])["services"][0]
    assert svc["tags"] == [], svc
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "ci"}])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "ci"}]


@snippet
def scale_down_and_delete():
    """scale to 0, wait stable, delete, wait with the services_inactive waiter"""
    ecs.update_service(service="boto3-web", desiredCount=0)
    ecs.get_waiter("services_stable").wait(services=["boto3-web"], WaiterConfig=WAIT)
    names = ["boto3-web"] + [f"boto3-idle-{i}" for i in range(3)]
    for name in names:
        ecs.delete_service(service=name)
    ecs.get_waiter("services_inactive").wait(services=names, WaiterConfig=WAIT)


@snippet
def stop_task():
    """stop the run task and wait with the tasks_stopped waiter"""
    arns = ecs.list_tasks(startedBy="boto3")["taskArns"]
    assert len(arns) == 1, arns
    ecs.stop_task(task=arns[0], reason="boto3 done")
    ecs.get_waiter("tasks_stopped").wait(tasks=arns, WaiterConfig=WAIT)
    task = ecs.describe_tasks(tasks=arns)["tasks"][0]
    assert task["stoppedReason"] == "boto3 done", task
    assert ecs.list_tasks()["taskArns"] == []


@snippet
def delete_cluster():
    """delete the empty cluster; it comes back INACTIVE with its counts"""
    cluster = ecs.delete_cluster(cluster="boto3-empty")["cluster"]
    assert cluster["status"] == "INACTIVE" and cluster["runningTasksCount"] == 0, cluster
    arns = ecs.list_clusters()["clusterArns"]
    assert not any(a.endswith("/boto3-empty") for a in arns), arns


@snippet
def deregister_task_definition():
    """deregister the task definition; ListTaskDefinitions of ACTIVE is []"""
    td = ecs.deregister_task_definition(taskDefinition="web:1")["taskDefinition"]
    assert td["status"] == "INACTIVE", td
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == []


print(f"boto3 {boto3.__version__}: {len(passed)} snippets passed")
sys.exit(0)
