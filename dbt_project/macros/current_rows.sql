{#- The current version of each key: the latest valid row, where later cycles win, then later landing
    (S3 LastModified, ties by key), then later rows within a file. Invalid rows never take part, so a
    rejected row cannot replace an earlier valid version. Incrementally, only the valid rows of new cycles
    are ranked and merged over the keys' current rows: a later cycle's row always wins. -#}
{% macro latest_valid_rows(checked_relation, key) -%}
    select * except (_version_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ key }}
                order by _ingested_at desc, _landed_at desc, _source_key desc, _row_number desc
            ) as _version_rank
        from {{ checked_relation }}
        where is_valid and {{ newer_than_watermark() }}
    )
    where _version_rank = 1
{%- endmacro %}

{#- Reason codes for one row: every check that fails, none when the row is valid. -#}
{% macro rejection_reasons(checks) -%}
    array_compact(array(
        case when _corrupt_record is not null then 'field_count_mismatch' end
        {%- for reason, failed in checks.items() %},
        case when {{ failed }} then '{{ reason }}' end
        {%- endfor %}
    ))
{%- endmacro %}
