{{ config(severity='error') }}
{#- Every received row is rejected, superseded or current: nothing is lost, nothing counted twice. -#}
select entity, received, rejected, superseded, current
from {{ ref('pipeline_accounting') }}
where received != rejected + superseded + current or superseded < 0
