{#- Text-to-type rules of the data contract (docs/contract.md). Each returns NULL when the text does not
    parse, so a check can tell "absent" (text is null) from "unparseable" (text present, value null). -#}

{#- Trims whitespace as Python's str.strip() does: the 29 characters of str.isspace() (ASCII whitespace, the
    Unicode spaces and line separators, the no-break space among them), so analysts' tools and the pipeline
    agree on a value, and no line separator is left at a value's end for a regex's `$` to match before.
    One trim() over the set costs less than a regex (docs/benchmarks.md, "Trimming without a regex"). -#}
{% macro clean_text(column) -%}
    nullif(trim(BOTH '\u0009\u000A\u000B\u000C\u000D\u001C\u001D\u001E\u001F\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000' FROM {{ column }}), '')
{%- endmacro %}

{#- YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}][ ][UTC|Z|+HH:MM|+HHMM]; no zone means UTC. Fractions past microseconds
    are truncated (Spark timestamps hold microseconds). Once the pattern has matched, the fraction and the
    offset are found by position, not by more regexes (docs/benchmarks.md, "Timestamps parsed by
    position"). The offset is subtracted as minutes: Spark's zone functions refuse offsets past ±18:00,
    which the contract's ±HH:MM allows (up to ±23:59), and would fail the whole build. Years run from 1 to
    9999, as written and in UTC: an order date outside them could not be read back into Python. -#}
{% macro parse_timestamp(text) -%}
    {%- set fraction -%}
        case when substr({{ text }}, 20, 1) = '.'
        then substring_index(translate(substr({{ text }}, 21, 6), 'UZ+-', '    '), ' ', 1)
        else '' end
    {%- endset -%}
    {#- ±HHMM, or null without an offset. -#}
    {%- set offset -%}
        case
            when substr({{ text }}, -6, 1) in ('+', '-') then replace(substr({{ text }}, -6, 6), ':', '')
            when substr({{ text }}, -5, 1) in ('+', '-') then substr({{ text }}, -5, 5)
        end
    {%- endset -%}
    {#- Microseconds since the epoch in UTC: the wall clock read as UTC, less the offset. -#}
    {%- set micros -%}
        unix_micros(try_to_timestamp(
            concat(substr({{ text }}, 1, 10), ' ', substr({{ text }}, 12, 8), '.', rpad({{ fraction }}, 6, '0'), 'Z'),
            'yyyy-MM-dd HH:mm:ss.SSSSSSX'
        ))
        - 60000000L * coalesce(
            try_cast(substr({{ offset }}, 1, 3) as int) * 60
            + try_cast(concat(substr({{ offset }}, 1, 1), substr({{ offset }}, 4, 2)) as int),
            0
        )
    {%- endset -%}
    {#- Within 0001-01-01 and 9999-12-31 UTC. -#}
    case when {{ text }} rlike '^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})? ?(UTC|Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d)?$'
        and substr({{ text }}, 1, 4) != '0000'
    then timestamp_micros({{ value_if(micros, 'm -> m between -62135596800000000L and 253402300799999999L') }})
    end
{%- endmacro %}

{#- A decimal number as written (12, .5, 49.9900016784668, 1e2), kept exactly to the 18th decimal place
    (past it, rounded half-up): never through a double. A value that rounds to 10^16 or more at 2 places does not parse: the KPI marts hold money as
    decimal(18, 2), which cannot hold it, and its KPIs would be null (docs/contract.md). -#}
{% macro parse_money(text) -%}
    case when {{ text }} rlike '^[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?$'
    then {{ value_if('try_cast(' ~ text ~ ' as decimal(38, 18))', 'v -> round(abs(v), 2) < 10000000000000000BD') }}
    end
{%- endmacro %}

{% macro parse_integer(text) -%}
    case when {{ text }} rlike '^[+-]?\\d{1,18}$' then try_cast({{ text }} as bigint) end
{%- endmacro %}

{#- `value` where `predicate` (a lambda over it) holds, else null, with `value` computed once: a CASE that
    tests a value and then returns it computes it twice, since Spark shares no expression between a
    condition and a branch that may not run. -#}
{% macro value_if(value, predicate) -%}
    try_element_at(filter(array({{ value }}), {{ predicate }}), 1)
{%- endmacro %}

{#- Where a raw row came from: file, line, landing time and cycle. Every layer up to the checks keeps them. -#}
{% macro lineage_columns() -%}
    _corrupt_record, _source_key, _source_etag, _landed_at, _row_number, _line_number, _cycle_id, _ingested_at
{%- endmacro %}
