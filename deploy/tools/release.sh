#!/usr/bin/env bash
# Roll Salon out (or back) to an image tag: migrate once, then both ECS services.
#
#   STACK=salon-prod AWS_REGION=eu-west-1 bash deploy/tools/release.sh <image-tag | sha256:digest>
#
# Steps, each stopping the release on failure:
#   1. the image <ecr repo>:<tag> must exist (CI pushed it; tags are immutable); it is resolved
#      to its digest and the task definitions name <ecr repo>@sha256:... (a digest may be
#      given in place of the tag);
#   2. register new revisions of the web, worker and migrate task definitions, identical to
#      the current ones except for the image (so settings stay what Terraform made them);
#   3. run the migrate task once (`salon db upgrade`) in the web service's subnets and security
#      group, and wait for exit code 0;
#   4. point both services at their new revision and wait until they are stable. The web
#      service's circuit breaker rolls back by itself if the new tasks never become healthy.
# A rollback is the same command with the previous tag. Migrations are expand/contract (release
# N-1 runs on schema N, see README.md "Upgrades and rollbacks"): the older image's
# `salon db upgrade` finds a newer schema that declares it compatible and does nothing; when the
# schema does not, it exits 3 and this script refuses the rollback before touching a service.
#
# Needs: aws CLI v2 and jq; credentials from the standard chain (CI: the OIDC role).
set -euo pipefail

tag="${1:?usage: release.sh <image-tag>}"
stack="${STACK:?set STACK to the deployment name (Terraform var.name), e.g. salon-prod}"
: "${AWS_REGION:?set AWS_REGION}"
cluster="${CLUSTER:-$stack}"
repo="${ECR_REPOSITORY:-$stack}"
aws_() { aws --region "$AWS_REGION" --output json "$@"; }

echo "release $tag to $stack"
# The task definitions name the image by digest (repo@sha256:...), the immutable form: what
# was tested is what runs, even if a tag were ever moved. A digest may be given instead of a tag.
if [[ "$tag" == sha256:* ]]; then ids="imageDigest=$tag"; else ids="imageTag=$tag"; fi
digest="$(aws_ ecr describe-images --repository-name "$repo" --image-ids "$ids" \
    | jq -r '.imageDetails[0].imageDigest // empty')"
if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "image $tag not found in $repo (no digest: '$digest')" >&2
    exit 1
fi
repo_uri="$(aws_ ecr describe-repositories --repository-names "$repo" | jq -r '.repositories[0].repositoryUri')"
image="$repo_uri@$digest"
echo "image $tag is $image"

# Register a copy of the family's latest revision with the new image; print its ARN.
register() {
    local family="$1"
    aws_ ecs describe-task-definition --task-definition "$family" --include TAGS \
        | jq --arg image "$image" '
            .taskDefinition
            | .containerDefinitions |= map(.image = $image)
            | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
                  .registeredAt, .registeredBy, .deregisteredAt)' \
        > "$workdir/$family.json"
    aws_ ecs register-task-definition --cli-input-json "file://$workdir/$family.json" \
        | jq -r '.taskDefinition.taskDefinitionArn'
}

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

web_td="$(register "$stack-web")"
worker_td="$(register "$stack-worker")"
migrate_td="$(register "$stack-migrate")"
echo "registered: $web_td $worker_td $migrate_td"

# Migrations: once, before any new code serves traffic.
network="$(aws_ ecs describe-services --cluster "$cluster" --services "$stack-web" \
    | jq -c '.services[0].networkConfiguration')"
answer="$(aws_ ecs run-task --cluster "$cluster" --task-definition "$migrate_td" \
    --launch-type FARGATE --network-configuration "$network" --started-by "release-$tag")"
task_arn="$(jq -r '.tasks[0].taskArn // empty' <<<"$answer")"
if [ -z "$task_arn" ]; then
    # ECS answers 200 with the reason in .failures: stop here, services untouched.
    echo "the migrate task did not start: $(jq -c '.failures' <<<"$answer")" >&2
    exit 1
fi
echo "migrating: $task_arn"
aws_ ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"
exit_code="$(aws_ ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
    | jq -r '.tasks[0].containers[] | select(.name == "migrate") | .exitCode')"
if [ "$exit_code" = "3" ]; then
    echo "refusing: image $tag cannot run on the current database schema (newer, and not" >&2
    echo "declared compatible with it); roll forward instead. Services left as they are." >&2
    echo "logs: /salon/$stack/migrate" >&2
    exit 3
fi
if [ "$exit_code" != "0" ]; then
    echo "migration failed (exit code $exit_code): services left on their current revision" >&2
    echo "logs: /salon/$stack/migrate" >&2
    exit 1
fi

aws_ ecs update-service --cluster "$cluster" --service "$stack-web" --task-definition "$web_td" > /dev/null
aws_ ecs update-service --cluster "$cluster" --service "$stack-worker" --task-definition "$worker_td" > /dev/null
echo "waiting for both services to become stable"
aws_ ecs wait services-stable --cluster "$cluster" --services "$stack-web" "$stack-worker"
deployed="$(aws_ ecs describe-services --cluster "$cluster" --services "$stack-web" \
    | jq -r '.services[0].taskDefinition')"
if [ "$deployed" != "$web_td" ]; then
    echo "the web service rolled back to $deployed: the new image never became healthy" >&2
    exit 1
fi
echo "released $tag"
