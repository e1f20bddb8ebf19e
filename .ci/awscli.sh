#!/usr/bin/env bash
# Drives a berth control plane with the real aws CLI (Debian's awscli) over
# ECS's JSON wire protocol: register a task definition from a real ECS file,
# describe and list it, create a cluster and a service, scale it, and check
# ECS's error shapes; then ECR: a repository, docker login with
# get-login-password, a push, the image operations; then S3 with aws s3 and
# aws s3api (a 100 MiB cp up and down, compared); Lambda's operations that
# need no running function. Prints "N passed, N failed".
# get-login-password, a push, the image operations; then EventBridge (rules, targets,
# events, patterns) and Scheduler (groups, schedules). Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

AWS=/usr/bin/aws # Debian's package, not a pip-installed one earlier on PATH
data=$(mktemp -d)
go build -o "$data/controlplane" ./cmd/controlplane
"$data/controlplane" --data-dir "$data/cp" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --registry-addr 127.0.0.1:0 --lambda-url-addr 127.0.0.1:0 2>"$data/log" &
cp_pid=$!
image=berth-awscli/empty:$$
# The images Lambda builds of the zip functions made here are removed too.
zip_images_before=$(docker images -q --filter label=berth.lambda.code-sha256 2>/dev/null | sort)
cleanup() {
  kill $cp_pid 2>/dev/null
  wait $cp_pid 2>/dev/null
  docker rmi -f "$image" "$registry/web:v1" >/dev/null 2>&1
  comm -13 <(echo "$zip_images_before") <(docker images -q --filter label=berth.lambda.code-sha256 2>/dev/null | sort) | xargs -r docker rmi -f >/dev/null 2>&1
  rm -rf "$data"
}
trap cleanup EXIT
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
check "a log router's secretOptions are taken (resolved when the task starts)" 'task-definition/newrelic-firelens-example:1' \
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
check "create a service with the EXTERNAL deployment controller" '"type": "EXTERNAL"' \
  ecs create-service --cluster prod --service-name ext --desired-count 2 --deployment-controller type=EXTERNAL
check "create a task set at 50 percent" '"computedDesiredCount": 1' \
  ecs create-task-set --cluster prod --service ext --task-definition nginx --scale value=50,unit=PERCENT --external-id deploy-1
taskset=$(ecs describe-services --cluster prod --services ext --query 'services[0].taskSets[0].id' --output text)
check "scale the task set" '"value": 100' \
  ecs update-task-set --cluster prod --service ext --task-set "$taskset" --scale value=100,unit=PERCENT
check "make it the primary task set" '"status": "PRIMARY"' \
  ecs update-service-primary-task-set --cluster prod --service ext --primary-task-set "$taskset"
check "describe the task sets" '"computedDesiredCount": 2' ecs describe-task-sets --cluster prod --service ext
check "the service shows the primary's task definition" '"taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1"' \
  ecs describe-services --cluster prod --services ext
check "the primary task set is deleted only with force" 'Primary TaskSet cannot be deleted' \
  ecs delete-task-set --cluster prod --service ext --task-set "$taskset"
check "delete it with force" '"status": "DRAINING"' ecs delete-task-set --cluster prod --service ext --task-set "$taskset" --force
check "a task set on a service without the EXTERNAL controller" 'only supports task set management on services configured to use external deployment controllers' \
  ecs create-task-set --cluster prod --service web --task-definition nginx
check "CODE_DEPLOY is refused, naming it" 'CODE_DEPLOY is not supported' \
  ecs create-service --cluster prod --service-name cd --task-definition nginx --desired-count 1 --deployment-controller type=CODE_DEPLOY
check "ClientException for an unknown task definition, in ECS's words" 'ClientException) when calling the DescribeTaskDefinition operation: Unable to describe task definition.' \
  ecs describe-task-definition --task-definition nope
check "ClusterNotFoundException, in ECS's words" 'ClusterNotFoundException) when calling the ListTasks operation: Cluster not found.' ecs list-tasks --cluster nope
check "InvalidParameterException for an unknown task, in ECS's words" 'The referenced task was not found.' \
  ecs stop-task --cluster prod --task 0123456789abcdef0123456789abcdef
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

# SSM Parameter Store and Secrets Manager (AWS JSON 1.1, AmazonSSM.* and secretsmanager.*).
ssm() { "$AWS" ssm --endpoint-url "http://$addr" --output json "$@"; }
sm() { "$AWS" secretsmanager --endpoint-url "http://$addr" --output json "$@"; }
check "put a SecureString parameter" '"Version": 1' ssm put-parameter --name /app/db/password --type SecureString --value s3cret-value
check "overwrite it: version 2" '"Version": 2' ssm put-parameter --name /app/db/password --value s3cret-value-2 --overwrite
check "put a StringList" '"Tier": "Standard"' ssm put-parameter --name /app/hosts --type StringList --value a,b
check "get it decrypted" '"Value": "s3cret-value-2"' ssm get-parameter --name /app/db/password --with-decryption
check "get version 1 by selector" '"Selector": ":1"' ssm get-parameter --name /app/db/password:1 --with-decryption
check "get parameters, one missing" '"InvalidParameters": [
        "/nope"' ssm get-parameters --names /app/hosts /nope
check "by path, recursive" '"Name": "/app/hosts"' ssm get-parameters-by-path --path /app --recursive
check "describe parameters" '"KeyId": "alias/aws/ssm"' ssm describe-parameters --parameter-filters Key=Type,Values=SecureString
check "label a version" '"ParameterVersion": 1' ssm label-parameter-version --name /app/db/password --parameter-version 1 --labels stable
check "history with labels" '"stable"' ssm get-parameter-history --name /app/db/password
check "ParameterAlreadyExists" 'ParameterAlreadyExists' ssm put-parameter --name /app/hosts --type StringList --value c
check "a reserved name prefix" 'ValidationException' ssm put-parameter --name /aws/x --type String --value v
check "a StringList with an empty item" 'ValidationException' ssm put-parameter --name /app/list --type StringList --value a,,b
check "16 levels" 'HierarchyLevelLimitExceededException' ssm put-parameter --name /a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p --type String --value v
check "ParameterNotFound" 'ParameterNotFound' ssm get-parameter --name /nope
check "ParameterVersionNotFound" 'ParameterVersionNotFound' ssm get-parameter --name /app/hosts:9
check "delete parameters" '"DeletedParameters": [' ssm delete-parameters --names /app/hosts
check "create a secret" ':secret:prod/db-' sm create-secret --name prod/db --secret-string '{"password":"pw1"}'
check "get its value" '"SecretString": "{\"password\":\"pw1\"}"' sm get-secret-value --secret-id prod/db
check "put a new value" '"AWSCURRENT"' sm put-secret-value --secret-id prod/db --secret-string '{"password":"pw2"}'
check "the old value is AWSPREVIOUS" 'pw1' sm get-secret-value --secret-id prod/db --version-stage AWSPREVIOUS
check "describe shows the stages" '"AWSPREVIOUS"' sm describe-secret --secret-id prod/db
check "update the description" '"Name": "prod/db"' sm update-secret --secret-id prod/db --description "the database"
check "list secrets" '"Description": "the database"' sm list-secrets --filters Key=name,Values=prod/
check "list versions" '"VersionStages": [' sm list-secret-version-ids --secret-id prod/db
check "a stage on two versions at once" 'InvalidParameterException' \
  sm update-secret-version-stage --secret-id prod/db --version-stage AWSCURRENT \
  --move-to-version-id "$(sm list-secret-version-ids --secret-id prod/db --query 'Versions[?contains(VersionStages, `AWSPREVIOUS`)].VersionId' --output text)"
check "ResourceExistsException" 'ResourceExistsException' sm create-secret --name prod/db --secret-string x
check "ResourceNotFoundException" 'ResourceNotFoundException' sm get-secret-value --secret-id nope
check "schedule its deletion" '"DeletionDate"' sm delete-secret --secret-id prod/db --recovery-window-in-days 7
check "a deleted secret: InvalidRequestException" 'InvalidRequestException' sm get-secret-value --secret-id prod/db
check "restore it" '"Name": "prod/db"' sm restore-secret --secret-id prod/db
check "delete it for good" '"Name": "prod/db"' sm delete-secret --secret-id prod/db --force-delete-without-recovery
check "no value in the state file" 'clean' bash -c "grep -q -a -e s3cret-value -e pw1 $data/cp/state.db && echo found || echo clean"
# Task scale-in protection, the service deployment history and the service
# members berth stores (the newer aws CLI: Debian's 2.9 predates the history).
check "register nginx again" '"revision": 2' \
  ecs register-task-definition --cli-input-json "file://$taskdefs/aws-samples__aws-containers-task-definitions__nginx_ec2.json"
check "a service with a load balancer, a role and alarms keeps them" '"roleArn": "arn:aws:iam::000000000000:role/ecsServiceRole"' \
  ecsnew create-service --cluster prod --service-name lb --task-definition nginx --desired-count 1 --role ecsServiceRole \
  --load-balancers targetGroupArn=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef,containerName=nginx,containerPort=80 \
  --deployment-configuration 'alarms={alarmNames=[high-cpu],enable=true,rollback=true}'
check "a load balancer on a port the container does not map" 'The container nginx did not have a container port 8080 defined.' \
  ecsnew update-service --cluster prod --service lb \
  --load-balancers targetGroupArn=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef,containerName=nginx,containerPort=8080
check "EBS volume configurations are refused by name" 'volumeConfigurations: not supported' \
  ecsnew update-service --cluster prod --service lb \
  --volume-configurations 'name=data,managedEBSVolume={roleArn=arn:aws:iam::000000000000:role/ebs}'
check "the service's deployments" '"serviceDeploymentArn": "arn:aws:ecs:us-east-1:000000000000:service-deployment/prod/lb/' \
  ecsnew list-service-deployments --cluster prod --service lb
deployment=$(ecsnew list-service-deployments --cluster prod --service lb --query 'serviceDeployments[0].serviceDeploymentArn' --output text 2>/dev/null)
revision=$(ecsnew list-service-deployments --cluster prod --service lb --query 'serviceDeployments[0].targetServiceRevisionArn' --output text 2>/dev/null)
check "describe a service deployment" '"status": "IN_PROGRESS"' ecsnew describe-service-deployments --service-deployment-arns "$deployment"
check "describe its service revision" '"containerPort": 80' ecsnew describe-service-revisions --service-revision-arns "$revision"
check "a service deployment ARN that is not one" 'InvalidParameterException' \
  ecsnew describe-service-deployments --service-deployment-arns arn:aws:ecs:us-east-1:000000000000:service/prod/lb
check "protection of a missing task is a failure" '"reason": "MISSING"' \
  ecsnew get-task-protection --cluster prod --tasks 0123456789abcdef0123456789abcdef
check "protection beyond 48 hours" 'InvalidParameterException' \
  ecsnew update-task-protection --cluster prod --tasks 0123456789abcdef0123456789abcdef --protection-enabled --expires-in-minutes 2881
standalone=$(ecsnew run-task --cluster prod --task-definition nginx --capacity-provider-strategy capacityProvider=asg,weight=1 \
  --query 'tasks[0].taskArn' --output text 2>/dev/null)
check "a standalone task cannot be protected" '"reason": "TASK_NOT_VALID"' \
  ecsnew update-task-protection --cluster prod --tasks "$standalone" --protection-enabled
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
check "a preview that was never started" 'LifecyclePolicyPreviewNotFoundException' ecr get-lifecycle-policy-preview --repository-name web
check "start a lifecycle policy preview" '"status": "COMPLETE"' ecr start-lifecycle-policy-preview --repository-name web --lifecycle-policy-text "$policy"
check "get the preview" '"expiringImageTotalCount"' ecr get-lifecycle-policy-preview --repository-name web
check "put a lifecycle policy" '"repositoryName": "web"' ecr put-lifecycle-policy --repository-name web --lifecycle-policy-text "$policy"
check "get the lifecycle policy" 'keep one release' ecr get-lifecycle-policy --repository-name web
check "delete the lifecycle policy" 'keep one release' ecr delete-lifecycle-policy --repository-name web
check "a repository with images is not deleted" 'RepositoryNotEmptyException' ecr delete-repository --repository-name web
check "put image tag mutability" '"imageTagMutability": "MUTABLE"' ecr put-image-tag-mutability --repository-name web --image-tag-mutability MUTABLE
check "batch delete image" '"imageTag": "v2"' ecr batch-delete-image --repository-name web --image-ids imageTag=v2
check "delete the repository with force" '"repositoryName": "web"' ecr delete-repository --repository-name web --force
check "an unknown repository" 'RepositoryNotFoundException' ecr list-images --repository-name web
# Lambda: functions on the front door (REST-JSON); nothing here runs one.
lam() { "$AWS" lambda --endpoint-url "http://$addr" --output json "$@"; }
printf 'bootstrap' >"$data/bootstrap" && (cd "$data" && python3 -c 'import zipfile; z=zipfile.ZipFile("fn.zip","w"); z.write("bootstrap"); z.close()')
role=arn:aws:iam::000000000000:role/lambda
check "create an image function" '"State": "Pending"' \
  lam create-function --function-name img --role "$role" --package-type Image --code ImageUri=000000000000.dkr.ecr.us-east-1.amazonaws.com/fn:1 --memory-size 256
check "create a provided.al2023 zip function" '"Runtime": "provided.al2023"' \
  lam create-function --function-name zipped --role "$role" --runtime provided.al2023 --handler bootstrap --zip-file "fileb://$data/fn.zip" --environment 'Variables={GREETING=hi}'
check "a zip function's code from an S3 object" '"Runtime": "provided.al2023"' \
  bash -c "$AWS s3 --endpoint-url http://$addr mb s3://lambda-code >/dev/null && $AWS s3 --endpoint-url http://$addr --only-show-errors cp $data/fn.zip s3://lambda-code/fn.zip && $AWS lambda --endpoint-url http://$addr --output json create-function --function-name froms3 --role $role --runtime provided.al2023 --handler bootstrap --code S3Bucket=lambda-code,S3Key=fn.zip"
check "code from an S3 object that is not there" 'S3 Error Code: NoSuchKey' \
  lam create-function --function-name bad --role "$role" --runtime provided.al2023 --handler bootstrap --code S3Bucket=lambda-code,S3Key=nope.zip
check "a function of the name exists" 'ResourceConflictException' \
  lam create-function --function-name img --role "$role" --package-type Image --code ImageUri=fn:1
check "a zip that is not a zip" 'Could not unzip uploaded file' \
  lam create-function --cli-input-json "{\"FunctionName\":\"bad\",\"Role\":\"$role\",\"Runtime\":\"provided.al2023\",\"Handler\":\"bootstrap\",\"Code\":{\"ZipFile\":\"bm90IGEgemlw\"}}"
check "memory out of range" "Value '10241' at 'memorySize' failed to satisfy constraint" \
  lam create-function --function-name bad --role "$role" --package-type Image --code ImageUri=fn:1 --memory-size 10241
check "get a function" '"RepositoryType": "ECR"' lam get-function --function-name img
for _ in $(seq 50); do
  lam get-function-configuration --function-name zipped 2>/dev/null | grep -q '"State": "Active"' && break
  sleep 0.1
done
check "Pending becomes Active" '"LastUpdateStatus": "Successful"' lam get-function-configuration --function-name zipped
check "list functions with paging" '"NextMarker"' lam list-functions --max-items 1 --no-paginate
check "list functions" '"FunctionName": "zipped"' lam list-functions
check "a function that is not there" 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope' lam get-function --function-name nope
check "update configuration" '"Timeout": 30' lam update-function-configuration --function-name img --timeout 30
for _ in $(seq 50); do
  lam get-function-configuration --function-name img 2>/dev/null | grep -q '"LastUpdateStatus": "Successful"' && break
  sleep 0.1
done
check "publish a version" '"Version": "1"' lam publish-version --function-name img
check "list versions" '"Version": "$LATEST"' lam list-versions-by-function --function-name img
check "create an alias" '"AliasArn": "arn:aws:lambda:us-east-1:000000000000:function:img:live"' \
  lam create-alias --function-name img --name live --function-version 1
check "list aliases" '"Name": "live"' lam list-aliases --function-name img
check "reserve concurrency" '"ReservedConcurrentExecutions": 5' lam put-function-concurrency --function-name img --reserved-concurrent-executions 5
check "too much reserved concurrency" 'below its minimum value of [100]' \
  lam put-function-concurrency --function-name zipped --reserved-concurrent-executions 996
check "account settings" '"UnreservedConcurrentExecutions": 995' lam get-account-settings
check "add a permission" '\"Service\":\"s3.amazonaws.com\"' \
  lam add-permission --function-name img --statement-id s3 --action lambda:InvokeFunction --principal s3.amazonaws.com --source-arn arn:aws:s3:::photos
check "get the policy" '\"Sid\":\"s3\"' lam get-policy --function-name img
check "event invoke config" '"MaximumRetryAttempts": 1' \
  lam put-function-event-invoke-config --function-name img --maximum-retry-attempts 1 --destination-config 'OnFailure={Destination=arn:aws:lambda:us-east-1:000000000000:function:zipped}'
check "tag a function" '' lam tag-resource --resource arn:aws:lambda:us-east-1:000000000000:function:img --tags team=core
check "list tags" '"team": "core"' lam list-tags --resource arn:aws:lambda:us-east-1:000000000000:function:img
check "a function URL" '.lambda-url.us-east-1.localhost:' lam create-function-url-config --function-name img --auth-type NONE
check "an invoke's payload over 6 MB" 'RequestTooLargeException' \
  bash -c "head -c 6300000 /dev/zero | tr '\\0' a | sed 's/.*/\"&\"/' >$data/big.json; $AWS lambda --endpoint-url http://$addr invoke --function-name img --cli-binary-format raw-in-base64-out --payload fileb://$data/big.json $data/out.json"
check "a dry run" '"StatusCode": 204' lam invoke --function-name img --invocation-type DryRun "$data/out.json"
check "delete a version an alias names" 'ResourceConflictException' lam delete-function --function-name img --qualifier 1
check "delete a function" '' lam delete-function --function-name zipped
check "the deleted function" 'ResourceNotFoundException' lam get-function --function-name zipped

# Inside a task: roles, secrets and environment files are taken.
check "a task definition with a task role and secrets" '"valueFrom": "/app/db-password"' \
  ecs register-task-definition --family inside --task-role-arn arn:aws:iam::000000000000:role/app \
  --execution-role-arn arn:aws:iam::000000000000:role/ecsTaskExecutionRole \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"secrets":[{"name":"DB_PASSWORD","valueFrom":"/app/db-password"}]}]'
check "secrets need an execution role, as in ECS" "you must also specify a value for 'executionRoleArn'" \
  ecs register-task-definition --family inside \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"secrets":[{"name":"DB_PASSWORD","valueFrom":"/app/db-password"}]}]'
check "a secret without valueFrom is refused, naming it" 'containerDefinitions[0].secrets[0].valueFrom' \
  ecs register-task-definition --family inside --execution-role-arn arn:aws:iam::000000000000:role/ecsTaskExecutionRole \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"secrets":[{"name":"DB_PASSWORD","valueFrom":""}]}]'
printf '# the app\nLOG_LEVEL=debug\n' >"$data/app.env"
check "an environment file in S3" 'ok' bash -c "$AWS s3 --endpoint-url http://$addr mb s3://inside-config >/dev/null && $AWS s3 --endpoint-url http://$addr --only-show-errors cp $data/app.env s3://inside-config/app.env && echo ok"
check "a task definition with environment files" '"value": "arn:aws:s3:::inside-config/app.env"' \
  ecs register-task-definition --family inside-envfiles --execution-role-arn arn:aws:iam::000000000000:role/ecsTaskExecutionRole \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"environment":[{"name":"LOG_LEVEL","value":"info"}],"environmentFiles":[{"value":"arn:aws:s3:::inside-config/app.env","type":"s3"}]}]'
check "an environment file of another type is refused, naming it" 'environmentFiles[0].type' \
  ecs register-task-definition --family inside \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"environmentFiles":[{"value":"arn:aws:s3:::b/app.env","type":"ssm"}]}]'
check "an environment file not named .env is refused" 'must end in .env' \
  ecs register-task-definition --family inside \
  --container-definitions '[{"name":"app","image":"busybox","memory":64,"environmentFiles":[{"value":"arn:aws:s3:::b/app.txt","type":"s3"}]}]'
check "a session token berth did not issue" 'UnrecognizedClientException' \
  env -u AWS_PROFILE -u AWS_SHARED_CREDENTIALS_FILE AWS_ACCESS_KEY_ID=ASIAAAAAAAAAAAAAAAAA AWS_SECRET_ACCESS_KEY=x AWS_SESSION_TOKEN=BRTH1.e30.AAAA \
  "$AWS" ecs --endpoint-url "http://$addr" list-clusters

# S3: buckets and objects on the front door, path-style on the same address.
s3() { "$AWS" s3 --endpoint-url "http://$addr" --only-show-errors "$@"; }
s3api() { "$AWS" s3api --endpoint-url "http://$addr" --output json "$@"; }
head -c 104857600 /dev/urandom >"$data/big.bin"
echo 'hello, berth' >"$data/small.txt"
check "make a bucket" 'photos' bash -c "$AWS s3 --endpoint-url http://$addr mb s3://photos"
check "a bucket that is there" 'BucketAlreadyOwnedByYou' s3api create-bucket --bucket photos
check "a bucket name S3 refuses" 'InvalidBucketName' s3api create-bucket --bucket Not_A_Bucket
check "an IP-shaped bucket name" 'InvalidBucketName' s3api create-bucket --bucket 192.168.1.1
check "head bucket" 'ok' bash -c "$AWS s3api --endpoint-url http://$addr head-bucket --bucket photos && echo ok"
check "put an object with metadata" '"ETag"' \
  s3api put-object --bucket photos --key 'in/hello world.txt' --body "$data/small.txt" --content-type text/plain --metadata owner=ann
check "head it" '"owner": "ann"' s3api head-object --bucket photos --key 'in/hello world.txt'
check "its content type" '"ContentType": "text/plain"' s3api head-object --bucket photos --key 'in/hello world.txt'
check "a range" '"ContentRange": "bytes 0-4/13"' s3api get-object --bucket photos --key 'in/hello world.txt' --range bytes=0-4 "$data/range.out"
check "copy an object" '"CopyObjectResult"' s3api copy-object --bucket photos --key in/copy.txt --copy-source 'photos/in/hello world.txt'
check "list with a delimiter" '"Prefix": "in/"' s3api list-objects-v2 --bucket photos --delimiter /
check "list by prefix, paged" '"NextToken"' s3api list-objects-v2 --bucket photos --prefix in/ --max-items 1 --page-size 1
check "cp 100 MiB up (multipart)" 'ok' bash -c "$AWS s3 --endpoint-url http://$addr --only-show-errors cp $data/big.bin s3://photos/big.bin && echo ok"
check "its multipart ETag" '-' s3api head-object --bucket photos --key big.bin --query ETag
check "cp 100 MiB down, the same bytes" 'same' bash -c "$AWS s3 --endpoint-url http://$addr --only-show-errors cp s3://photos/big.bin $data/big.back && cmp $data/big.bin $data/big.back && echo same"
check "a presigned URL" 'hello, berth' bash -c "curl -sf \"\$($AWS s3 --endpoint-url http://$addr presign 's3://photos/in/hello world.txt')\""
check "ls" 'big.bin' "$AWS" s3 --endpoint-url "http://$addr" ls s3://photos/
check "a key that is not there" 'NoSuchKey' s3api get-object --bucket photos --key nope "$data/nope.out"
check "a bucket that is not there" 'NoSuchBucket' s3api list-objects-v2 --bucket nope
check "a bucket with objects is not deleted" 'BucketNotEmpty' s3api delete-bucket --bucket photos
check "a notification to a function berth cannot invoke" 'Unable to validate the following destination configurations' \
  s3api put-bucket-notification-configuration --bucket photos --notification-configuration \
  '{"LambdaFunctionConfigurations":[{"LambdaFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:thumb","Events":["s3:ObjectCreated:*"]}]}'
# (put-bucket-notification-configuration prints nothing: the get after it checks it)
s3api put-bucket-notification-configuration --bucket photos --notification-configuration '{"EventBridgeConfiguration":{}}'
check "get the notification configuration" '"EventBridgeConfiguration": {}' s3api get-bucket-notification-configuration --bucket photos
check "delete objects" '"Key": "in/copy.txt"' s3api delete-objects --bucket photos --delete 'Objects=[{Key=in/copy.txt},{Key=big.bin}]'
check "delete an object" 'ok' bash -c "$AWS s3api --endpoint-url http://$addr delete-object --bucket photos --key 'in/hello world.txt' && echo ok"
check "remove the empty bucket" 'remove_bucket: photos' bash -c "$AWS s3 --endpoint-url http://$addr rb s3://photos"
check "the bucket is gone" 'NoSuchBucket' s3api list-objects-v2 --bucket photos
# Elastic Load Balancing v2 (the query protocol): a load balancer, a target
# group over a local web server, a listener that forwards to it, rules, and
# ELB's errors.
elbv2() { "$AWS" elbv2 --endpoint-url "http://$addr" --output json "$@"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -p "$data/www" && echo "hello from the target" >"$data/www/index.html"
web_port=$(freeport)
python3 -m http.server --bind 127.0.0.1 --directory "$data/www" "$web_port" >/dev/null 2>&1 &
web_pid=$!
lb_port=$(freeport)
check "create a load balancer" '"Type": "application"' elbv2 create-load-balancer --name web --subnets subnet-1 subnet-2
lb=$(elbv2 describe-load-balancers --names web --query 'LoadBalancers[0].LoadBalancerArn' --output text)
check "a second load balancer of the name" 'DuplicateLoadBalancerName' elbv2 create-load-balancer --name web
check "create a target group" '"HealthCheckPath": "/index.html"' \
  elbv2 create-target-group --name web-tg --protocol HTTP --port 80 --target-type ip --health-check-path /index.html \
  --health-check-interval-seconds 5 --health-check-timeout-seconds 2 --healthy-threshold-count 2 --matcher HttpCode=200-299
tg=$(elbv2 describe-target-groups --names web-tg --query 'TargetGroups[0].TargetGroupArn' --output text)
check "an ip target group for a bridge task" "The provided target group $tg has target type ip, which is incompatible with the bridge network mode specified in the task definition." \
  ecs create-service --cluster prod --service-name web-lb --task-definition nginx --desired-count 0 \
  --load-balancers "targetGroupArn=$tg,containerName=nginx,containerPort=80"
check "create an instance target group" '"TargetType": "instance"' elbv2 create-target-group --name web-inst --protocol HTTP --port 80
tg_inst=$(elbv2 describe-target-groups --names web-inst --query 'TargetGroups[0].TargetGroupArn' --output text)
check "register an awsvpc task definition" '"networkMode": "awsvpc"' ecs register-task-definition --family vpcweb --network-mode awsvpc \
  --container-definitions '[{"name":"web","image":"nginx","memory":64,"portMappings":[{"containerPort":80}]}]'
check "an instance target group for an awsvpc task" "The provided target group $tg_inst has target type instance, which is incompatible with the awsvpc network mode specified in the task definition." \
  ecs create-service --cluster prod --service-name web-lb --task-definition vpcweb --desired-count 0 \
  --network-configuration 'awsvpcConfiguration={subnets=[subnet-1]}' --load-balancers "targetGroupArn=$tg_inst,containerName=web,containerPort=80"
check "delete the instance target group" '' elbv2 delete-target-group --target-group-arn "$tg_inst"
check "a health check timeout over its interval" 'InvalidConfigurationRequest' \
  elbv2 create-target-group --name bad --protocol HTTP --port 80 --health-check-interval-seconds 5 --health-check-timeout-seconds 6
check "set the deregistration delay" '"Value": "5"' \
  elbv2 modify-target-group-attributes --target-group-arn "$tg" --attributes Key=deregistration_delay.timeout_seconds,Value=5
check "register a target" '' elbv2 register-targets --target-group-arn "$tg" --targets "Id=127.0.0.1,Port=$web_port"
check "a target of a group no listener uses is unused" '"Reason": "Target.NotInUse"' elbv2 describe-target-health --target-group-arn "$tg"
check "create a listener" "\"Port\": $lb_port" \
  elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$lb_port" --default-actions "Type=forward,TargetGroupArn=$tg"
listener=$(elbv2 describe-listeners --load-balancer-arn "$lb" --query 'Listeners[0].ListenerArn' --output text)
check "a second listener on the port" 'DuplicateListener' \
  elbv2 create-listener --load-balancer-arn "$lb" --protocol HTTP --port "$lb_port" --default-actions "Type=forward,TargetGroupArn=$tg"
check "the target turns healthy" '"State": "healthy"' \
  bash -c "for i in \$(seq 100); do $AWS elbv2 --endpoint-url http://$addr describe-target-health --target-group-arn $tg | grep -q healthy && break; sleep 0.2; done; $AWS elbv2 --endpoint-url http://$addr describe-target-health --target-group-arn $tg"
check "a request through the listener" 'hello from the target' curl -s "http://127.0.0.1:$lb_port/"
check "create a fixed-response rule" '"Priority": "10"' \
  elbv2 create-rule --listener-arn "$listener" --priority 10 --conditions Field=path-pattern,Values=/teapot \
  --actions 'Type=fixed-response,FixedResponseConfig={StatusCode=418,ContentType=text/plain,MessageBody=teapot}'
check "the rule answers" '418' curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lb_port/teapot"
check "a priority in use" 'PriorityInUse' \
  elbv2 create-rule --listener-arn "$listener" --priority 10 --conditions Field=host-header,Values=example.com --actions "Type=forward,TargetGroupArn=$tg"
check "describe rules, the default last" '"IsDefault": true' elbv2 describe-rules --listener-arn "$listener"
check "tag the load balancer" '' elbv2 add-tags --resource-arns "$lb" --tags Key=team,Value=core
check "describe tags" '"Value": "core"' elbv2 describe-tags --resource-arns "$lb"
check "a target group in use is not deleted" 'ResourceInUse' elbv2 delete-target-group --target-group-arn "$tg"
check "deregister the target" '' elbv2 deregister-targets --target-group-arn "$tg" --targets "Id=127.0.0.1,Port=$web_port"
check "it drains through the deregistration delay" '"State": "draining"' elbv2 describe-target-health --target-group-arn "$tg"
check "an unknown target group" 'TargetGroupNotFound' elbv2 describe-target-groups --target-group-arns "${tg}0"
check "an unknown listener" 'ListenerNotFound' elbv2 describe-listeners --listener-arns "${listener}0"
check "delete the load balancer" '' elbv2 delete-load-balancer --load-balancer-arn "$lb"
check "its listener is closed" '000' curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lb_port/"
check "delete the target group" '' elbv2 delete-target-group --target-group-arn "$tg"
kill $web_pid 2>/dev/null; wait $web_pid 2>/dev/null

# EventBridge: rules, targets, events on the default bus; then Scheduler.
ev() { "$AWS" events --endpoint-url "http://$addr" --output json "$@"; }
sched() { "$AWS" scheduler --endpoint-url "http://$addr" --output json "$@"; }
check "put a rule with a pattern" '"RuleArn": "arn:aws:events:us-east-1:000000000000:rule/uploads"' \
  ev put-rule --name uploads --event-pattern '{"source":["my.app"],"detail":{"key":[{"suffix":".png"}]}}'
check "put a scheduled rule" '"RuleArn": "arn:aws:events:us-east-1:000000000000:rule/hourly"' \
  ev put-rule --name hourly --schedule-expression 'cron(0 * * * ? *)' --state DISABLED
check "describe a rule" '"State": "DISABLED"' ev describe-rule --name hourly
check "list rules by prefix" '"Name": "uploads"' ev list-rules --name-prefix up
check "enable a rule" 'succeeded' succeeds ev enable-rule --name hourly
check "a pattern that does not parse names the path" 'detail.key[0].suffixx' \
  ev put-rule --name bad --event-pattern '{"detail":{"key":[{"suffixx":".png"}]}}'
check "a cron AWS refuses" 'ValidationException' ev put-rule --name bad --schedule-expression 'cron(0 * * * * *)'
check "put an ECS target" '"FailedEntryCount": 0' \
  ev put-targets --rule uploads --targets '[{"Id":"resize","Arn":"arn:aws:ecs:us-east-1:000000000000:cluster/prod","EcsParameters":{"TaskDefinitionArn":"arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1"},"InputTransformer":{"InputPathsMap":{"key":"$.detail.key"},"InputTemplate":"{\"containerOverrides\":[{\"name\":\"nginx\",\"environment\":[{\"name\":\"KEY\",\"value\":<key>}]}]}"}}]'
check "list targets" '"Id": "resize"' ev list-targets-by-rule --rule uploads
check "a rule with targets is not deleted" "Rule can't be deleted since it has targets." ev delete-rule --name uploads
check "put events" '"FailedEntryCount": 0' \
  ev put-events --entries '[{"Source":"my.app","DetailType":"Object Created","Detail":"{\"key\":\"photo.png\"}"}]'
check "an entry refused on its own" '"ErrorCode": "MalformedDetail"' \
  ev put-events --entries '[{"Source":"my.app","DetailType":"x","Detail":"[1]"}]'
check "test an event pattern" '"Result": true' ev test-event-pattern --event-pattern '{"detail":{"n":[{"numeric":[">",1]}]}}' \
  --event '{"id":"1","account":"000000000000","source":"x","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail-type":"x","detail":{"n":2}}'
check "remove targets" '"FailedEntryCount": 0' ev remove-targets --rule uploads --ids resize
check "delete a rule" 'succeeded' succeeds ev delete-rule --name uploads
check "create a schedule group" '"ScheduleGroupArn": "arn:aws:scheduler:us-east-1:000000000000:schedule-group/jobs"' sched create-schedule-group --name jobs
check "create a schedule" '"ScheduleArn": "arn:aws:scheduler:us-east-1:000000000000:schedule/jobs/nightly"' \
  sched create-schedule --name nightly --group-name jobs --schedule-expression 'cron(0 2 ? * MON-FRI *)' --schedule-expression-timezone Europe/Paris \
  --flexible-time-window Mode=FLEXIBLE,MaximumWindowInMinutes=15 \
  --target '{"Arn":"arn:aws:ecs:us-east-1:000000000000:cluster/prod","RoleArn":"arn:aws:iam::000000000000:role/s","EcsParameters":{"TaskDefinitionArn":"arn:aws:ecs:us-east-1:000000000000:task-definition/nginx:1"}}'
check "get a schedule" '"ScheduleExpressionTimezone": "Europe/Paris"' sched get-schedule --name nightly --group-name jobs
check "list schedules" '"Name": "nightly"' sched list-schedules --group-name jobs
check "list schedule groups" '"Name": "default"' sched list-schedule-groups
check "a schedule expression Scheduler refuses" 'Invalid Schedule Expression rate(1 minutes)' \
  sched create-schedule --name x --schedule-expression 'rate(1 minutes)' --flexible-time-window Mode=OFF \
  --target '{"Arn":"arn:aws:ecs:us-east-1:000000000000:cluster/prod","RoleArn":"arn:aws:iam::000000000000:role/s","EcsParameters":{"TaskDefinitionArn":"nginx"}}'
check "a schedule that is not there" 'ResourceNotFoundException' sched get-schedule --name none
check "delete a schedule" 'succeeded' succeeds sched delete-schedule --name nightly --group-name jobs
check "delete a schedule group" 'succeeded' succeeds sched delete-schedule-group --name jobs

# Application Auto Scaling (AWS JSON 1.1, AnyScaleFrontendService.*): the prod
# cluster's web service as a scalable target, its policies, its errors
# (Debian's aws CLI 2.9 prints no ScalableTargetARN: its model predates it).
aas() { "$AWS" application-autoscaling --endpoint-url "http://$addr" --output json "$@"; }
check "register a scalable target" 'succeeded' \
  succeeds aas register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web --min-capacity 1 --max-capacity 4
check "min above max is refused" 'Minimum capacity cannot be greater than maximum capacity' \
  aas register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web --min-capacity 5 --max-capacity 2
check "an unknown service is refused" "ECS service doesn't exist: service/prod/none" \
  aas register-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/none --min-capacity 1 --max-capacity 2
check "describe scalable targets" '"MaxCapacity": 4' aas describe-scalable-targets --service-namespace ecs --resource-ids service/prod/web
check "put a target tracking policy" 'TargetTracking-service/prod/web-AlarmHigh-' \
  aas put-scaling-policy --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web \
  --policy-name cpu75 --policy-type TargetTrackingScaling \
  --target-tracking-scaling-policy-configuration '{"TargetValue":75.0,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"},"ScaleOutCooldown":60,"ScaleInCooldown":60}'
check "a target value out of range" 'ValidationException' \
  aas put-scaling-policy --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web \
  --policy-name bad --policy-type TargetTrackingScaling \
  --target-tracking-scaling-policy-configuration '{"TargetValue":0,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}'
check "put a step scaling policy" '"PolicyARN"' \
  aas put-scaling-policy --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web \
  --policy-name steps --policy-type StepScaling \
  --step-scaling-policy-configuration '{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}],"Cooldown":60}'
check "describe scaling policies" '"PolicyName": "cpu75"' aas describe-scaling-policies --service-namespace ecs --resource-id service/prod/web
check "describe scaling activities" '"ScalingActivities"' aas describe-scaling-activities --service-namespace ecs --resource-id service/prod/web
check "delete a scaling policy" 'succeeded' succeeds aas delete-scaling-policy --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web --policy-name steps
check "a policy that is not there" 'ObjectNotFoundException' \
  aas delete-scaling-policy --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web --policy-name steps
check "deregister the scalable target" 'succeeded' succeeds aas deregister-scalable-target --service-namespace ecs --scalable-dimension ecs:service:DesiredCount --resource-id service/prod/web

echo "awscli: $passed passed, $failed failed"
[ "$failed" = 0 ]
