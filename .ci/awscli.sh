#!/usr/bin/env bash
# Drives a berth control plane with the real aws CLI (Debian's awscli) over
# ECS's JSON wire protocol: register a task definition from a real ECS file,
# describe and list it, create a cluster and a service, scale it, and check
# ECS's error shapes; then ECR: a repository, docker login with
# get-login-password, a push, the image operations. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

AWS=/usr/bin/aws # Debian's package, not a pip-installed one earlier on PATH
data=$(mktemp -d)
go build -o "$data/controlplane" ./cmd/controlplane
"$data/controlplane" --data-dir "$data/cp" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --registry-addr 127.0.0.1:0 2>"$data/log" &
cp_pid=$!
image=berth-awscli/empty:$$
trap 'kill $cp_pid 2>/dev/null; wait $cp_pid 2>/dev/null; docker rmi -f "$image" "$registry/web:v1" >/dev/null 2>&1; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  addr=$(grep -o 'http=[0-9.:]*' "$data/log" | head -1 | cut -d= -f2)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$data/log"; echo "control plane did not start"; exit 1; }
registry=$(grep -o 'registry=[0-9.:]*' "$data/log" | head -1 | cut -d= -f2)
export AWS_SHARED_CREDENTIALS_FILE=$data/cp/aws-credentials AWS_PROFILE=berth AWS_DEFAULT_REGION=us-east-1
ecs() { "$AWS" ecs --endpoint-url "http://$addr" --output json "$@"; }

passed=0 failed=0
check() { # check NAME EXPECTED_SUBSTRING COMMAND...
  local name=$1 want=$2; shift 2
  local out
  out=$("$@" 2>&1)
  if [[ "$out" == *"$want"* ]]; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: wanted '$want' in:"; echo "$out" | head -20
  fi
}

taskdefs=../shared/testdata/ecs-taskdefs
check "register a real task definition" '"taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1"' \
  ecs register-task-definition --cli-input-json "file://$taskdefs/aws-samples__aws-containers-task-definitions__nginx_ec2.json"
check "normalized Fargate sizes" '"memory": "2048"' \
  ecs register-task-definition --cli-input-json "file://$taskdefs/aws-samples__amazon-ecs-firelens-examples__appmesh-firelens-colorteller-black-ecs-task-def.json" \
  --cpu "1 vCPU" --memory "2 GB"
check "a setting berth cannot honour is refused, naming it" 'logConfiguration.secretOptions: not supported' \
  ecs register-task-definition --cli-input-json "file://$taskdefs/aws-samples__amazon-ecs-firelens-examples__example-task-definition.json"
check "describe by family" '"revision": 1' ecs describe-task-definition --task-definition nginx
check "list task definitions" 'task-definition/nginx:1' ecs list-task-definitions
check "list families" '"nginx"' ecs list-task-definition-families
check "create a cluster" '"clusterName": "prod"' ecs create-cluster --cluster-name prod
check "describe clusters with counts" '"registeredContainerInstancesCount": 0' ecs describe-clusters --clusters prod
check "create a service" '"desiredCount": 2' \
  ecs create-service --cluster prod --service-name web --task-definition nginx --desired-count 2
check "scale the service" '"desiredCount": 5' ecs update-service --cluster prod --service web --desired-count 5
check "describe the service" '"serviceName": "web"' ecs describe-services --cluster prod --services web
check "unable to place without instances" 'was unable to place a task' \
  bash -c "sleep 2; $AWS ecs --endpoint-url http://$addr describe-services --cluster prod --services web"
check "RunTask failures, not an error" '"reason": "NO_CONTAINER_INSTANCES"' ecs run-task --cluster prod --task-definition nginx
check "ClientException for an unknown task definition" 'ClientException' ecs describe-task-definition --task-definition nope
check "ClusterNotFoundException" 'ClusterNotFoundException' ecs list-tasks --cluster nope
check "InvalidParameterException" 'InvalidParameterException' ecs run-task --task-definition nginx --count 11
check "a bad signature is refused" 'InvalidSignatureException' \
  env AWS_ACCESS_KEY_ID="$(grep aws_access_key_id "$AWS_SHARED_CREDENTIALS_FILE" | cut -d' ' -f3)" AWS_SECRET_ACCESS_KEY=wrong \
  "$AWS" ecs --endpoint-url "http://$addr" list-clusters
check "create an EC2 capacity provider" '"targetCapacity": 100' \
  ecs create-capacity-provider --name asg --auto-scaling-group-provider 'autoScalingGroupArn=group-1,managedScaling={status=ENABLED}'
check "give the cluster the provider" '"asg"' \
  ecs put-cluster-capacity-providers --cluster prod --capacity-providers asg --default-capacity-provider-strategy capacityProvider=asg,weight=1
check "RunTask on the provider waits for capacity" '"lastStatus": "PROVISIONING"' \
  ecs run-task --cluster prod --task-definition nginx --capacity-provider-strategy capacityProvider=asg,weight=1
check "a strategy mixing Fargate and EC2 providers" 'cannot contain a mix of capacity providers' \
  ecs run-task --cluster prod --task-definition nginx --capacity-provider-strategy capacityProvider=asg,weight=1 capacityProvider=FARGATE,weight=1
check "update the provider's managed scaling" '"targetCapacity": 75' \
  ecs update-capacity-provider --name asg --auto-scaling-group-provider 'managedScaling={status=ENABLED,targetCapacity=75}'
check "an update is checked as a create is" 'InvalidParameterException' \
  ecs update-capacity-provider --name asg --auto-scaling-group-provider 'managedScaling={targetCapacity=101}'
check "a provider on a cluster cannot be deleted" 'associated with cluster prod' ecs delete-capacity-provider --capacity-provider asg
check "FARGATE cannot be deleted" 'InvalidParameterException' ecs delete-capacity-provider --capacity-provider FARGATE
check "create a provider on no cluster" '"name": "spare"' \
  ecs create-capacity-provider --name spare --auto-scaling-group-provider autoScalingGroupArn=group-2
check "delete it" '"updateStatus": "DELETE_COMPLETE"' ecs delete-capacity-provider --capacity-provider spare
succeeds() { "$@" && echo succeeded; } # for operations that answer with nothing
check "list container instance attributes" 'succeeded' succeeds ecs list-attributes --cluster prod --target-type container-instance
check "attributes of an unknown cluster" 'ClusterNotFoundException' ecs list-attributes --cluster nope --target-type container-instance
check "delete an attribute of a missing instance" 'TargetNotFoundException' \
  ecs delete-attributes --cluster prod --attributes name=stack,targetId=0123456789abcdef
cluster_arn=arn:aws:ecs:us-east-1:000000000000:cluster/prod
check "tag a cluster" 'succeeded' succeeds ecs tag-resource --resource-arn $cluster_arn --tags key=team,value=web key=env,value=dev
check "list its tags" '"value": "web"' ecs list-tags-for-resource --resource-arn $cluster_arn
tag_and_list() { ecs tag-resource --resource-arn "$1" --tags "${@:2}" && ecs list-tags-for-resource --resource-arn "$1"; }
check "tagging a key again replaces its value" '"value": "prod"' tag_and_list $cluster_arn key=env,value=prod
check "untag it" 'succeeded' succeeds ecs untag-resource --resource-arn $cluster_arn --tag-keys team
check "the untagged key is gone" '"tags": [
        {
            "key": "env",
            "value": "prod"
        }
    ]' ecs list-tags-for-resource --resource-arn $cluster_arn
check "the aws: prefix is reserved" 'InvalidParameterException' ecs tag-resource --resource-arn $cluster_arn --tags key=aws:x,value=y
check "tags of an unknown service" 'ResourceNotFoundException' \
  ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:000000000000:service/prod/nope --tags key=k,value=v
check "deregister" '"status": "INACTIVE"' ecs deregister-task-definition --task-definition nginx:1
# Debian's aws CLI (2.9) predates delete-task-definitions: the newer aws CLI
# these machines have on PATH (pip's) runs it, unchanged.
# Where PATH has no other aws CLI, Debian's is given ECS's newer model from
# botocore through AWS_DATA_PATH, as the CLI allows.
newer=$(command -v aws || true)
ecsnew() { "$newer" ecs --endpoint-url "http://$addr" --output json "$@"; }
if [ -z "$newer" ] || [ "$(readlink -f "$newer")" = "$(readlink -f "$AWS")" ]; then
  model=$(python3 -c 'import botocore, os; print(os.path.dirname(botocore.__file__) + "/data/ecs/2014-11-13/service-2.json.gz")' 2>/dev/null || true)
  if [ -n "$model" ] && [ -f "$model" ]; then
    mkdir -p "$data/models/ecs/2014-11-13"
    gzip -dc "$model" >"$data/models/ecs/2014-11-13/service-2.json"
    ecsnew() { AWS_DATA_PATH=$data/models ecs "$@"; }
  else
    echo "no aws CLI here knows delete-task-definitions (Debian's is 2.9; no newer one or botocore on PATH)" >&2
    exit 1
  fi
fi
check "delete a deregistered revision" '"status": "DELETE_IN_PROGRESS"' ecsnew delete-task-definitions --task-definitions nginx:1
check "an ACTIVE revision is a failure, not an error" 'still in ACTIVE status' ecsnew delete-task-definitions --task-definitions appmesh-firelens-colorteller-black:1
check "describe shows DELETE_IN_PROGRESS" '"status": "DELETE_IN_PROGRESS"' ecs describe-task-definition --task-definition nginx:1
check "put an account setting default" '"principalArn": "arn:aws:iam::000000000000:root"' \
  ecs put-account-setting-default --name containerInsights --value enhanced
check "effective account settings" '"value": "enhanced"' ecs list-account-settings --effective-settings --name containerInsights
check "ECS's default for a setting not set" '"value": "7"' ecs list-account-settings --effective-settings --name fargateTaskRetirementWaitPeriod
check "a bad setting value" 'InvalidParameterException' ecs put-account-setting --name awsvpcTrunking --value maybe
check "update a cluster's settings" '"value": "enhanced"' \
  ecs update-cluster-settings --cluster prod --settings name=containerInsights,value=enhanced
check "update a cluster's execute command configuration" '"s3KeyPrefix": "exec/"' \
  ecs update-cluster --cluster prod --configuration 'executeCommandConfiguration={kmsKeyId=key-1,logging=OVERRIDE,logConfiguration={s3BucketName=logs,s3KeyPrefix=exec/}}'
check "update a cluster's managed storage and Service Connect defaults" '"fargateEphemeralStorageKmsKeyId": "key-2"' \
  ecsnew update-cluster --cluster prod --configuration 'managedStorageConfiguration={fargateEphemeralStorageKmsKeyId=key-2}' --service-connect-defaults namespace=prod-ns
check "describe shows the configuration" '"logging": "OVERRIDE"' ecs describe-clusters --clusters prod --include CONFIGURATIONS
check "a bad cluster setting value" 'InvalidParameterException' \
  ecs update-cluster-settings --cluster prod --settings name=containerInsights,value=on
check "OVERRIDE logging needs a logConfiguration" 'logConfiguration: is required' \
  ecs update-cluster --cluster prod --configuration 'executeCommandConfiguration={logging=OVERRIDE}'
check "update an unknown cluster" 'ClusterNotFoundException' \
  ecs update-cluster-settings --cluster nope --settings name=containerInsights,value=enabled

# ECR: the registry on its own address, its API on the front door.
ecr() { "$AWS" ecr --endpoint-url "http://$addr" --output json "$@"; }
export DOCKER_CONFIG=$data/docker
check "create a repository" '"repositoryUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/web"' \
  ecr create-repository --repository-name web --image-tag-mutability IMMUTABLE --image-scanning-configuration scanOnPush=true
check "a second repository of the name" 'RepositoryAlreadyExistsException' ecr create-repository --repository-name web
check "a bad repository name" 'InvalidParameterException' ecr create-repository --repository-name Web
check "describe repositories" '"imageTagMutability": "IMMUTABLE"' ecr describe-repositories --repository-names web
check "docker login with get-login-password" 'Login Succeeded' \
  bash -c "$AWS ecr --endpoint-url http://$addr get-login-password | docker login --username AWS --password-stdin $registry"
tar cf - --files-from /dev/null | docker import - "$image" >/dev/null
docker tag "$image" "$registry/web:v1"
check "docker push" 'digest: sha256:' docker push "$registry/web:v1"
check "describe images" '"imageTags": [' ecr describe-images --repository-name web
check "list images" '"imageTag": "v1"' ecr list-images --repository-name web
check "batch get image" '"imageManifest":' ecr batch-get-image --repository-name web --image-ids imageTag=v1
check "an image that is not there" 'ImageNotFoundException' ecr describe-images --repository-name web --image-ids imageTag=v9
check "retag with put-image" '"imageTag": "v2"' \
  bash -c "$AWS ecr --endpoint-url http://$addr put-image --repository-name web --image-tag v2 --image-manifest \"\$($AWS ecr --endpoint-url http://$addr batch-get-image --repository-name web --image-ids imageTag=v1 --query 'images[0].imageManifest' --output text)\""
policy='{"rules":[{"rulePriority":1,"description":"keep one release","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}'
check "a lifecycle policy with a bad rule" 'rules[0].selection.countNumber' \
  ecr put-lifecycle-policy --repository-name web --lifecycle-policy-text "${policy/\"countNumber\":1/\"countNumber\":0}"
check "get a lifecycle policy that is not there" 'LifecyclePolicyNotFoundException' ecr get-lifecycle-policy --repository-name web
check "put a lifecycle policy" '"repositoryName": "web"' ecr put-lifecycle-policy --repository-name web --lifecycle-policy-text "$policy"
check "get the lifecycle policy" 'keep one release' ecr get-lifecycle-policy --repository-name web
check "delete the lifecycle policy" 'keep one release' ecr delete-lifecycle-policy --repository-name web
check "a repository with images is not deleted" 'RepositoryNotEmptyException' ecr delete-repository --repository-name web
check "put image tag mutability" '"imageTagMutability": "MUTABLE"' ecr put-image-tag-mutability --repository-name web --image-tag-mutability MUTABLE
check "batch delete image" '"imageTag": "v2"' ecr batch-delete-image --repository-name web --image-ids imageTag=v2
check "delete the repository with force" '"repositoryName": "web"' ecr delete-repository --repository-name web --force
check "an unknown repository" 'RepositoryNotFoundException' ecr list-images --repository-name web

echo "awscli: $passed passed, $failed failed"
[ "$failed" = 0 ]
