"""Which landed files are read, in which order, and which are rejected as a whole from their header."""

from __future__ import annotations

import gzip

import pytest

from ingestion.landing import decode_whole_file, inspect, list_landed
from tests.fakes import fake_s3

BUCKET = "landing-bucket"


@pytest.fixture
def s3():
    with fake_s3(BUCKET) as client:
        yield client


def _inspect(s3, key: str, body: bytes):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    (obj,) = [o for o in list_landed(s3, BUCKET) if o.key == key]
    return inspect(s3, BUCKET, obj)


def test_landing_order_is_last_modified_then_key(s3):
    for key in ("landing/orders/b.csv", "landing/orders/a.csv", "landing/products/c.csv"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    landed = list_landed(s3, BUCKET)
    assert [(o.last_modified, o.key) for o in landed] == sorted((o.last_modified, o.key) for o in landed)
    assert {o.entity_name for o in landed} == {"orders", "products"}


def test_header_with_bom_crlf_case_and_spaces_is_accepted(s3):
    inspection = _inspect(
        s3,
        "landing/orders/x.csv",
        b"\xef\xbb\xbf Order_ID ,USER_ID,Status,created_at,Extra\r\n1,2,shipped,x,y\r\n",
    )
    assert inspection.accepted
    assert inspection.header == ("order_id", "user_id", "status", "created_at", "extra")
    assert inspection.header_lines == 1


def test_quoted_line_break_in_header_counts_its_lines(s3):
    inspection = _inspect(s3, "landing/products/p.csv", b'id,"cate\ngory"\n1,Jeans\n')
    assert inspection.rejection.reason == "missing_required_columns"
    inspection = _inspect(s3, "landing/products/q.csv", b'"id\n",category\n1,Jeans\n')
    assert inspection.accepted and inspection.header_lines == 2


def test_gzip_file_header_is_read_through_the_compression(s3):
    inspection = _inspect(s3, "landing/products/p.csv.gz", gzip.compress(b"id,category\n1,Jeans\n"))
    assert inspection.accepted and inspection.header == ("id", "category")


@pytest.mark.parametrize(
    ("key", "body", "reason", "detail_mentions"),
    [
        ("landing/orders/o.json", b"{}", "unsupported_file_type", ".csv"),
        ("landing/orders/o.csv", b"", "empty_file", "empty"),
        ("landing/orders/o.csv", b"\n\n", "empty_file", "no header"),
        ("landing/orders/o.csv", b"order_id,\xff\xfe,status\n", "undecodable", "UTF-8"),
        ("landing/orders/o.csv.gz", b"not gzip at all", "undecodable", "gzip"),
        (
            "landing/orders/o.csv",
            b"order_id,status\n1,shipped\n",
            "missing_required_columns",
            "user_id, created_at",
        ),
        ("landing/customers/c.csv", b"id\n1\n", "unknown_entity", "orders, order_items, products"),
    ],
)
def test_whole_file_rejections_name_the_reason(s3, key, body, reason, detail_mentions):
    inspection = _inspect(s3, key, body)
    assert not inspection.accepted
    assert inspection.rejection.reason == reason
    assert detail_mentions in inspection.rejection.detail
    assert key in inspection.rejection.detail


def test_a_bad_byte_after_the_header_rejects_the_file_naming_line_and_column(s3):
    body = b"order_id,user_id,status,created_at\n1,2,shipped,x\n3,\xc3(4,shipped,x\n"
    inspection = _inspect(s3, "landing/orders/o.csv", body)
    assert inspection.rejection.reason == "undecodable"
    assert "landing/orders/o.csv, line 3, column 3: byte 0xc3 is not UTF-8" in inspection.rejection.detail
    assert "errors/" in inspection.rejection.detail


def test_a_truncated_gzip_is_rejected_and_concatenated_members_are_read(s3):
    whole = gzip.compress(b"id,category\n" + b"1,Jeans\n" * 1000)
    assert _inspect(s3, "landing/products/cut.csv.gz", whole[:-20]).rejection.reason == "undecodable"
    two_members = gzip.compress(b"id,category\n1,Jeans\n") + gzip.compress(b"2,Socks\n")
    assert _inspect(s3, "landing/products/two.csv.gz", two_members).accepted


def test_a_character_split_across_read_chunks_is_not_an_error():
    text = "id,category\n1,Chaussures été\n".encode()
    cut = text.index("é".encode()) + 1
    assert decode_whole_file([text[:cut], text[cut:]], is_gzip=False).head.endswith("été\n")


def test_blank_lines_outside_quotes_are_found_across_chunks_as_spark_sees_them():
    text = b'id,category\n1,A\n\n2,"x\n\ny"\n\r\n3,B\n'
    cut = text.index(b"y")

    decoded = decode_whole_file([text[:cut], text[cut:]], is_gzip=False)

    assert decoded.blank_lines == (3,)  # in an LF file, "\r\n" is a row holding "\r", as Spark reads it
    assert decoded.head.startswith("id,category\n")
    crlf = decode_whole_file([b"id,category\r\n1,A\r\n\r\n2,B\r\n"], is_gzip=False)
    assert crlf.blank_lines == (3,)


def test_a_quote_in_any_chunk_marks_the_file_as_quoting():
    rows = b"id,category\n1,A\n" * 3

    assert not decode_whole_file([rows, rows], is_gzip=False).has_quotes
    assert decode_whole_file([rows, b'2,"B"\n'], is_gzip=False).has_quotes
