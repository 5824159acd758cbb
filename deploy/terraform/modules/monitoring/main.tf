# What pages a person: the site answering errors or losing targets, the web service running
# short, and the database running out of CPU, storage or connections. Each alarm (and its
# recovery) goes to the alarm topic; one dashboard shows the same signals side by side.
# The queue's own alarms (DLQ depth, oldest message) live in the queue module; the dashboard
# shows both queues.

locals {
  alb = { LoadBalancer = var.load_balancer_arn_suffix }
  tg  = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  db  = { DBInstanceIdentifier = var.db_instance_id }

  alarms = {
    alb-target-5xx = {
      description = "The web tasks answered more than ${var.alb_5xx_per_5_minutes} 5xx in 5 minutes."
      namespace   = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", stat = "Sum"
      dimensions  = local.alb, comparison = "GreaterThanThreshold", threshold = var.alb_5xx_per_5_minutes
      period      = 300, periods = 1, missing = "notBreaching"
    }
    alb-5xx = {
      description = "The load balancer itself answered more than ${var.alb_5xx_per_5_minutes} 5xx in 5 minutes (no healthy target, timeouts)."
      namespace   = "AWS/ApplicationELB", metric = "HTTPCode_ELB_5XX_Count", stat = "Sum"
      dimensions  = local.alb, comparison = "GreaterThanThreshold", threshold = var.alb_5xx_per_5_minutes
      period      = 300, periods = 1, missing = "notBreaching"
    }
    unhealthy-targets = {
      description = "A web task has failed the load balancer's health check for 5 minutes."
      namespace   = "AWS/ApplicationELB", metric = "UnHealthyHostCount", stat = "Maximum"
      dimensions  = local.tg, comparison = "GreaterThanThreshold", threshold = 0
      period      = 60, periods = 5, missing = "notBreaching"
    }
    web-running-below-desired = {
      description = "Fewer than ${var.web_min_count} web tasks have run for 5 minutes."
      namespace   = "ECS/ContainerInsights", metric = "RunningTaskCount", stat = "Minimum"
      dimensions  = { ClusterName = var.cluster_name, ServiceName = var.web_service_name }
      comparison  = "LessThanThreshold", threshold = var.web_min_count
      period      = 60, periods = 5, missing = "breaching"
    }
    db-cpu = {
      description = "The database's CPU has stayed above 80% for 15 minutes."
      namespace   = "AWS/RDS", metric = "CPUUtilization", stat = "Average"
      dimensions  = local.db, comparison = "GreaterThanThreshold", threshold = 80
      period      = 300, periods = 3, missing = "missing"
    }
    db-free-storage = {
      description = "The database has less than ${floor(var.db_free_storage_bytes / 1073741824)} GiB free."
      namespace   = "AWS/RDS", metric = "FreeStorageSpace", stat = "Minimum"
      dimensions  = local.db, comparison = "LessThanThreshold", threshold = var.db_free_storage_bytes
      period      = 300, periods = 1, missing = "missing"
    }
    db-connections = {
      description = "More than ${var.db_max_connections} database connections for 10 minutes."
      namespace   = "AWS/RDS", metric = "DatabaseConnections", stat = "Maximum"
      dimensions  = local.db, comparison = "GreaterThanThreshold", threshold = var.db_max_connections
      period      = 300, periods = 2, missing = "missing"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.stat
  dimensions          = each.value.dimensions
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.periods
  treat_missing_data  = each.value.missing
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = merge(var.tags, { "salon:module" = "monitoring" })
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for i, w in [
        { title = "Requests and errors", metrics = [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
        ] },
        { title = "Response time (p99)", metrics = [
          ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "p99" }],
        ] },
        { title = "Tasks running", metrics = [
          ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.web_service_name],
          ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.worker_service_name],
        ] },
        { title = "Job queues", metrics = [
          for pair in setproduct(compact([var.queue_name, var.long_queue_name]), ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible", "ApproximateAgeOfOldestMessage"]) :
          ["AWS/SQS", pair[1], "QueueName", pair[0]]
        ] },
        # Jobs that failed max_receive_count times: the queue module alarms on any; this shows
        # how many and since when (they stay 14 days, then SQS drops them).
        { title = "Dead-lettered jobs (DLQ depth)", metrics = [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.dlq_name, { stat = "Maximum" }],
        ] },
        { title = "Database", metrics = [
          ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_id],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_id],
        ] },
        { title = "Database free storage", metrics = [
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_id],
        ] },
        ] : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = w.title
          metrics = w.metrics
          period  = 60
          stat    = "Average"
          view    = "timeSeries"
          region  = data.aws_region.current.name
        }
      }
    ]
  })
}

data "aws_region" "current" {}

locals {
  dlq_name = coalesce(var.dlq_name, "${var.queue_name}-dlq")
}
