# Least privilege for the containers.
#
# * execution role (used by the ECS agent, not the app): pull the image, write the log groups,
#   read the listed secrets. Nothing else.
# * web task role: objects under the bucket prefix, send to the job queues.
# * worker task role: objects under the bucket prefix, consume the job queues and their DLQ, and
#   protect its own tasks from scale-in while a job runs (salon/task_protection.py).
# Neither task role can read secrets, other buckets, other prefixes or other queues.

data "aws_region" "current" {}

locals {
  # Tasks of this deployment's cluster (named var.name), in the queue's account and partition.
  queue_arn_parts   = split(":", var.queue_arn)
  cluster_tasks_arn = "arn:${local.queue_arn_parts[1]}:ecs:${data.aws_region.current.name}:${local.queue_arn_parts[4]}:task/${var.name}/*"
  tags              = merge(var.tags, { "salon:module" = "iam" })
  objects_arn       = "${var.bucket_arn}/${var.key_prefix}*"
  list_prefix       = var.key_prefix == "" ? "*" : "${var.key_prefix}*"

  ecs_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  s3_statements = concat([
    {
      Sid      = "ObjectsUnderPrefix"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
      Resource = local.objects_arn
    },
    {
      Sid       = "ListOnlyThePrefix"
      Effect    = "Allow"
      Action    = ["s3:ListBucket"]
      Resource  = var.bucket_arn
      Condition = { StringLike = { "s3:prefix" = [local.list_prefix] } }
    },
    ], var.kms_key_arn == null ? [] : [{
      # The bucket is SSE-KMS: S3 calls KMS on the task's behalf, and only through S3.
      Sid       = "BucketKeyThroughS3Only"
      Effect    = "Allow"
      Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource  = var.kms_key_arn
      Condition = { StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" } }
  }])

  queue_read = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
  queue_actions = {
    web    = concat(local.queue_read, ["sqs:SendMessage"])
    worker = concat(local.queue_read, ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"])
    # One-off commands (`salon db upgrade`, `user create`, `doctor`, `uploads cleanup`, `apod
    # import`) run as the migrate task under a role of their own, so an operator's command
    # never carries the web service's identity and the two can be audited apart.
    ops = concat(local.queue_read, ["sqs:SendMessage"])
  }
}

resource "aws_iam_role" "execution" {
  name                 = "${var.name}-execution"
  description          = "ECS agent for Salon tasks: pull image, write logs, inject secrets"
  assume_role_policy   = local.ecs_trust
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-log-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        # GetAuthorizationToken has no resource-level permissions in IAM.
        Sid      = "EcrLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Sid      = "PullTheImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = var.ecr_repository_arn
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [for arn in var.log_group_arns : "${arn}:*"]
      },
      {
        Sid      = "ReadInjectedSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = var.secret_arns
      },
      ], var.kms_key_arn == null ? [] : [{
        Sid       = "DecryptSecretsAndImage"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = var.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com", "ecr.${data.aws_region.current.name}.amazonaws.com"] } }
    }])
  })
}

resource "aws_iam_role" "task" {
  for_each = local.queue_actions

  name                 = "${var.name}-${each.key}-task"
  description          = "Salon ${each.key} containers: own bucket prefix and own queue only"
  assume_role_policy   = local.ecs_trust
  max_session_duration = 3600
  tags                 = local.tags
}

resource "aws_iam_role_policy" "task" {
  for_each = local.queue_actions

  name = "bucket-prefix-and-queue"
  role = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(local.s3_statements, [{
      Sid      = "OwnQueueOnly"
      Effect   = "Allow"
      Action   = each.value
      Resource = var.queue_arn
      }], var.long_queue_arn == null ? [] : [{
      # Long jobs (videos): sent by whoever queues them, taken by the worker's long slots.
      Sid      = "OwnLongJobsQueue"
      Effect   = "Allow"
      Action   = each.value
      Resource = var.long_queue_arn
      }], each.key != "worker" ? [] : [{
      # Dead-lettered jobs are read once more so the worker can mark them failed.
      Sid      = "OwnDeadLetterQueue"
      Effect   = "Allow"
      Action   = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]
      Resource = var.dlq_arn
      }, {
      # The worker protects its task while a job runs, so scale-in never stops a video midway.
      Sid      = "ProtectOwnTasksFromScaleIn"
      Effect   = "Allow"
      Action   = ["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"]
      Resource = local.cluster_tasks_arn
    }])
  })
}
