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
# A rollback is the same command with the previous image: `release.sh --previous` prints it (the
# digest of the image the web service ran before the current one) and changes nothing:
#
#   STACK=salon-prod AWS_REGION=eu-west-1 bash deploy/tools/release.sh "$(STACK=salon-prod \
#       AWS_REGION=eu-west-1 bash deploy/tools/release.sh --previous)"
#
# Migrations are expand/contract (release
# N-1 runs on schema N, see README.md "Upgrades and rollbacks"): the older image's
# `salon db upgrade` finds a newer schema that declares it compatible and does nothing; when the
# schema does not, it exits 3 and this script refuses the rollback before touching a service.
#
# A release that does not finish leaves nothing of itself behind: the services go back to the
# revisions they ran, and the revisions it registered are deregistered, so the families' latest
# revisions (what run-task.sh and a manual `aws ecs run-task` start) are the image that runs.
#
# Needs: aws CLI v2 and jq; credentials from the standard chain (CI: the OIDC role).
set -euo pipefail
shopt -s inherit_errexit

stack="${STACK:?set STACK to the deployment name (Terraform var.name), e.g. salon-prod}"
: "${AWS_REGION:?set AWS_REGION}"
cluster="${CLUSTER:-$stack}"
repo="${ECR_REPOSITORY:-$stack}"
aws_() { aws --region "$AWS_REGION" --output json "$@"; }

# The first container's image of a task definition (family, family:revision or ARN).
image_of() {
    aws_ ecs describe-task-definition --task-definition "$1" \
        | jq -r '.taskDefinition.containerDefinitions[0].image'
}
# What release.sh takes for an image: the digest of repo@sha256:..., else the tag of repo:tag.
reference_of() {
    case "$1" in
        *@sha256:*) echo "${1##*@}" ;;
        *) echo "${1##*:}" ;;
    esac
}
# The digest an image reference names: its own, or its tag's in ECR (empty when unknown), so a
# revision Terraform registered as repo:tag and release.sh's repo@sha256:... compare equal.
digest_of() {
    case "$1" in
        *@sha256:*) echo "${1##*@}" ;;
        *) aws_ ecr describe-images --repository-name "$repo" --image-ids "imageTag=${1##*:}" \
            2>/dev/null | jq -r '.imageDetails[0].imageDigest // empty' || true ;;
    esac
}
service_td() {
    aws_ ecs describe-services --cluster "$cluster" --services "$1" \
        | jq -r '.services[0].taskDefinition // empty'
}

if [ "${1:-}" = "--previous" ]; then
    # The newest ACTIVE web revision older than the one the service runs whose image differs.
    # Revisions of failed releases are deregistered (below), so this is the last good image.
    current_td="$(service_td "$stack-web")"
    [ -n "$current_td" ] || { echo "no service $stack-web in cluster $cluster" >&2; exit 1; }
    current_image="$(image_of "$current_td")"
    current_digest="$(digest_of "$current_image")"
    current_rev="${current_td##*:}"
    for td in $(aws_ ecs list-task-definitions --family-prefix "$stack-web" --status ACTIVE \
        --sort DESC | jq -r '.taskDefinitionArns[]'); do
        [ "${td##*:}" -lt "$current_rev" ] || continue
        candidate="$(image_of "$td")"
        if [ "$candidate" != "$current_image" ] && [ "$(digest_of "$candidate")" != "$current_digest" ]; then
            echo "$stack-web runs $current_image ($current_td); before it: $candidate ($td)" >&2
            reference_of "$candidate"
            exit 0
        fi
    done
    echo "no earlier image in the ACTIVE revisions of $stack-web (it runs $current_image);" >&2
    echo "list the repository: aws ecr describe-images --repository-name $repo" >&2
    exit 1
fi

tag="${1:?usage: release.sh <image-tag | sha256:digest> | --previous}"
# A whole image reference as the task definitions print it (repo@sha256:..., repo:tag) names
# the same image as its digest or tag.
case "$tag" in
    *@sha256:*) tag="sha256:${tag##*@sha256:}" ;;
    */*:*) tag="${tag##*:}" ;;
esac

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

# Register a copy of the family's latest revision with the new image (and its tags: copying
# them needs ecs:TagResource); print its ARN.
register() {
    local family="$1"
    aws_ ecs describe-task-definition --task-definition "$family" --include TAGS \
        | jq --arg image "$image" '
            (.tags // []) as $tags
            | .taskDefinition
            | .containerDefinitions |= map(.image = $image)
            | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
                  .registeredAt, .registeredBy, .deregisteredAt)
            | if ($tags | length) > 0 then .tags = $tags else . end' \
        > "$workdir/$family.json"
    aws_ ecs register-task-definition --cli-input-json "file://$workdir/$family.json" \
        | jq -r '.taskDefinition.taskDefinitionArn'
}

# Until the release is done, any exit (a failed step, a waiter giving up, Ctrl-C) puts the
# services back on what they ran and deregisters what this run registered.
registered=()
services_updated=""
released=""
undo() {
    local status=$?
    if [ -z "$released" ]; then
        if [ -n "$services_updated" ]; then
            for pair in "$stack-web=$web_before" "$stack-worker=$worker_before"; do
                if [ "$(service_td "${pair%%=*}")" != "${pair#*=}" ]; then
                    aws_ ecs update-service --cluster "$cluster" --service "${pair%%=*}" \
                        --task-definition "${pair#*=}" > /dev/null \
                        && echo "rolled back: ${pair%%=*} is back on ${pair#*=}" >&2
                fi
            done
        fi
        for td in "${registered[@]}"; do
            aws_ ecs deregister-task-definition --task-definition "$td" > /dev/null \
                && echo "deregistered $td (this release's, not released)" >&2
        done
        [ "$status" -ne 0 ] || status=1
    fi
    rm -rf "$workdir"
    exit "$status"
}
workdir="$(mktemp -d)"
trap undo EXIT
trap 'exit 130' INT TERM

web_before="$(service_td "$stack-web")"
worker_before="$(service_td "$stack-worker")"
if [ -z "$web_before" ] || [ -z "$worker_before" ]; then
    echo "no services $stack-web and $stack-worker in cluster $cluster: is STACK right?" >&2
    exit 1
fi
# Printed first, so the log of every release says what to roll back to.
echo "now running: $(image_of "$web_before") ($web_before)"

for family in "$stack-web" "$stack-worker" "$stack-migrate"; do
    td="$(register "$family")"
    [ -n "$td" ] || { echo "registering a revision of $family failed" >&2; exit 1; }
    registered+=("$td")
done
web_td="${registered[0]}"
worker_td="${registered[1]}"
migrate_td="${registered[2]}"
echo "registered: $web_td $worker_td $migrate_td"

# Migrations: once, before any new code serves traffic. ECS takes only [A-Za-z0-9_/-] (at most
# 128) in startedBy: the digest's hex names the image whether a tag or a digest was given.
started_by="release-${digest:7:28}"
network="$(aws_ ecs describe-services --cluster "$cluster" --services "$stack-web" \
    | jq -c '.services[0].networkConfiguration')"
answer="$(aws_ ecs run-task --cluster "$cluster" --task-definition "$migrate_td" \
    --launch-type FARGATE --network-configuration "$network" --started-by "$started_by")"
task_arn="$(jq -r '.tasks[0].taskArn // empty' <<<"$answer")"
if [ -z "$task_arn" ]; then
    # ECS answers 200 with the reason in .failures: stop here, services untouched.
    echo "the migrate task did not start: $(jq -c '.failures' <<<"$answer")" >&2
    exit 1
fi
echo "migrating: $task_arn"
if ! aws_ ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"; then
    echo "the migrate task $task_arn has not stopped within the waiter's limit: services left" >&2
    echo "as they are; rerun the release once it has finished (logs: /salon/$stack/migrate)" >&2
    exit 1
fi
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

services_updated=1
aws_ ecs update-service --cluster "$cluster" --service "$stack-web" --task-definition "$web_td" > /dev/null
aws_ ecs update-service --cluster "$cluster" --service "$stack-worker" --task-definition "$worker_td" > /dev/null
echo "waiting for both services to become stable"
if ! aws_ ecs wait services-stable --cluster "$cluster" --services "$stack-web" "$stack-worker"; then
    echo "the services did not become stable within the waiter's limit (10 minutes): rolling" >&2
    echo "back to the revisions they ran (events: aws ecs describe-services --cluster $cluster" >&2
    echo "--services $stack-web $stack-worker --query 'services[].events[:5]')" >&2
    exit 1
fi
deployed="$(service_td "$stack-web")"
if [ "$deployed" != "$web_td" ]; then
    echo "rolled back: the new web tasks never became healthy and the ECS circuit breaker put" >&2
    echo "$stack-web back on $deployed; the worker follows (logs: /salon/$stack/web)" >&2
    exit 1
fi
released=1
echo "released $tag"
