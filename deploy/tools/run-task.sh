#!/usr/bin/env bash
# Run one `salon` command in production as a one-off ECS task, and wait for its result:
#
#   STACK=salon-prod AWS_REGION=eu-west-1 bash deploy/tools/run-task.sh salon doctor
#   STACK=salon-prod AWS_REGION=eu-west-1 bash deploy/tools/run-task.sh salon uploads cleanup
#   STACK=salon-prod AWS_REGION=eu-west-1 bash deploy/tools/run-task.sh salon apod import --date 2024-01-01 --user alice@example.com
#
# The task is the migrate task definition (<stack>-migrate: the services' settings and secrets,
# and the ops task role, not the web service's) with its command replaced, in the web service's
# subnets and security group. Its latest revision must name the image the web service runs
# (else the script refuses: a release under way or one Terraform registered with another image). The script prints the command's
# log lines and exits with its exit code. No stdin reaches the task: pass nothing secret on the
# command line (it is visible in CloudTrail). So `salon user create`, which asks for a password,
# is not a one-off here: Cognito users are created with `aws cognito-idp admin-create-user
# --message-action SUPPRESS` and `admin-set-user-password --permanent` (deploy/README.md).
#
# Needs: aws CLI v2 and jq; credentials from the standard chain.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: run-task.sh salon <command> [args...]" >&2; exit 2; }
[ "$1" = "salon" ] || { echo "run-task.sh runs salon commands only: run-task.sh salon $*" >&2; exit 2; }
stack="${STACK:?set STACK to the deployment name (Terraform var.name), e.g. salon-prod}"
: "${AWS_REGION:?set AWS_REGION}"
cluster="${CLUSTER:-$stack}"
aws_() { aws --region "$AWS_REGION" --output json "$@"; }

# One JSON string per argument, whatever it holds (jq's --args would read "--date" as its own).
command_json='[]'
for arg in "$@"; do
    command_json="$(jq -c --arg a "$arg" '. + [$a]' <<<"$command_json")"
done
overrides="$(jq -cn --argjson cmd "$command_json" \
    '{containerOverrides: [{name: "migrate", command: $cmd}]}')"
network="$(aws_ ecs describe-services --cluster "$cluster" --services "$stack-web" \
    | jq -c '.services[0].networkConfiguration')"
if [ -z "$network" ] || [ "$network" = "null" ]; then
    echo "no service $stack-web in cluster $cluster: is STACK right?" >&2
    exit 1
fi

# The family's latest revision must run the web service's image: after a release that did not
# finish, or a Terraform apply with another image_tag, it would run an image nobody released.
# The exact revision checked is the one run, so a registration in between changes nothing.
web_td="$(aws_ ecs describe-services --cluster "$cluster" --services "$stack-web" \
    | jq -r '.services[0].taskDefinition')"
web_image="$(aws_ ecs describe-task-definition --task-definition "$web_td" \
    | jq -r '.taskDefinition.containerDefinitions[0].image')"
migrate="$(aws_ ecs describe-task-definition --task-definition "$stack-migrate")"
migrate_td="$(jq -r '.taskDefinition.taskDefinitionArn' <<<"$migrate")"
migrate_image="$(jq -r '.taskDefinition.containerDefinitions[0].image' <<<"$migrate")"
if [ "$migrate_image" != "$web_image" ]; then
    echo "refusing: $migrate_td runs $migrate_image, but $stack-web runs $web_image." >&2
    echo "A release is under way, or Terraform registered a revision with another image_tag:" >&2
    echo "wait for it, or run release.sh with the tag that runs to bring them together." >&2
    exit 1
fi

answer="$(aws_ ecs run-task --cluster "$cluster" --task-definition "$migrate_td" \
    --launch-type FARGATE --network-configuration "$network" --overrides "$overrides" \
    --started-by "run-task")"
task_arn="$(jq -r '.tasks[0].taskArn // empty' <<<"$answer")"
if [ -z "$task_arn" ]; then
    # ECS answers 200 with the reason in .failures (capacity, a bad revision, ...).
    echo "the task did not start: $(jq -c '.failures' <<<"$answer")" >&2
    exit 1
fi
echo "running $* as $task_arn" >&2
aws_ ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn"

stopped="$(aws_ ecs describe-tasks --cluster "$cluster" --tasks "$task_arn")"
exit_code="$(jq -r '.tasks[0].containers[] | select(.name == "migrate") | .exitCode // empty' <<<"$stopped")"
task_id="${task_arn##*/}"
aws_ logs get-log-events --log-group-name "/salon/$stack/migrate" \
    --log-stream-name "migrate/migrate/$task_id" --start-from-head \
    | jq -r '.events[].message' || echo "(no log lines in /salon/$stack/migrate)" >&2
if [ -z "$exit_code" ]; then
    echo "the task stopped without running the command: $(jq -r '.tasks[0].stoppedReason' <<<"$stopped")" >&2
    exit 1
fi
exit "$exit_code"
