# The worker service: `salon worker` long-polls the job queue. It has no inbound port. It scales
# on backlog per task (visible messages / running tasks), the measure AWS recommends for queue
# consumers, and may scale to zero: a step policy wakes it when a message arrives.

data "aws_region" "current" {}

locals {
  tags         = merge(var.tags, { "salon:module" = "worker" })
  cluster_name = element(split("/", var.cluster_arn), 1)
  service_name = "${var.name}-worker"
  # Messages waiting, in metric math: the job queue's, plus the long jobs' queue's if any.
  visible = var.long_queue_name == null ? "visible" : "(visible + visible_long)"
}

resource "aws_security_group" "task" {
  name        = "${var.name}-worker-tasks"
  description = "Salon worker tasks: no inbound traffic"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  #checkov:skip=CKV_AWS_382:Workers call AWS APIs (through endpoints or NAT) and image sources such as NASA APOD over HTTPS; their addresses are not fixed.
  security_group_id = aws_security_group.task.id
  description       = "HTTPS to AWS APIs and image sources"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  for_each = toset(var.vpc_cidr_blocks)

  security_group_id = aws_security_group.task.id
  description       = "PostgreSQL inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_ecs_task_definition" "this" {
  family                   = local.service_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "data"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "worker"
    image                  = var.image
    essential              = true
    command                = ["salon", "worker"]
    readonlyRootFilesystem = true
    user                   = "10001:10001"
    stopTimeout            = var.stop_timeout_seconds
    environment            = [for k in sort(keys(var.environment)) : { name = k, value = var.environment[k] }]
    secrets                = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
    linuxParameters        = { initProcessEnabled = true }
    mountPoints = [
      { sourceVolume = "data", containerPath = "/var/lib/salon", readOnly = false },
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "worker"
      }
    }
  }])

  tags = local.tags
}

resource "aws_ecs_service" "this" {
  name                               = local.service_name
  cluster                            = var.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.min_count
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = var.use_spot ? "FARGATE_SPOT" : "FARGATE"
    weight            = 1
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  # As for the web service: autoscaling owns the count, release.sh the revision in service.
  lifecycle {
    ignore_changes = [desired_count, task_definition]
  }

  tags = local.tags
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${local.cluster_name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count
}

# Backlog per task = visible messages / running tasks (1 when none run, so the metric is
# defined at zero tasks). Target tracking adds or removes tasks to keep it at the target.
resource "aws_appautoscaling_policy" "backlog" {
  name               = "${local.service_name}-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "visible"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = var.queue_name
            }
          }
        }
      }

      metrics {
        id          = "running"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = local.cluster_name
            }
            dimensions {
              name  = "ServiceName"
              value = local.service_name
            }
          }
        }
      }

      # The long jobs' queue (videos) counts too: long jobs alone must also start workers.
      dynamic "metrics" {
        for_each = var.long_queue_name == null ? [] : [var.long_queue_name]
        content {
          id          = "visible_long"
          return_data = false
          metric_stat {
            stat = "Sum"
            metric {
              namespace   = "AWS/SQS"
              metric_name = "ApproximateNumberOfMessagesVisible"
              dimensions {
                name  = "QueueName"
                value = metrics.value
              }
            }
          }
        }
      }

      metrics {
        id          = "backlog_per_task"
        label       = "Messages waiting per running worker task"
        expression  = "${local.visible} / IF(FILL(running, 0) > 0, FILL(running, 0), 1)"
        return_data = true
      }
    }
  }
}

# Target tracking may not leave zero tasks on its own: when messages wait and no worker runs,
# this step policy starts one (ChangeInCapacity, so it can never scale a busy service in).
resource "aws_appautoscaling_policy" "wake" {
  name               = "${local.service_name}-wake-from-zero"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Maximum"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "wake" {
  alarm_name          = "${local.service_name}-work-but-no-worker"
  alarm_description   = "Messages are waiting and no worker runs: start one."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.wake.arn]

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = var.queue_name }
      stat        = "Maximum"
      period      = 60
    }
  }

  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = { ClusterName = local.cluster_name, ServiceName = local.service_name }
      stat        = "Maximum"
      period      = 60
    }
  }

  dynamic "metric_query" {
    for_each = var.long_queue_name == null ? [] : [var.long_queue_name]
    content {
      id = "visible_long"
      metric {
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = metric_query.value }
        stat        = "Maximum"
        period      = 60
      }
    }
  }

  metric_query {
    id          = "starved"
    expression  = "IF(${local.visible} > 0 AND FILL(running, 0) == 0, 1, 0)"
    label       = "Work waiting with zero workers"
    return_data = true
  }

  tags = local.tags
}
