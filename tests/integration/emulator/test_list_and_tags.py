"""ListStreamProcessors pagination, and TagResource / UntagResource / ListTagsForResource."""

from __future__ import annotations

import base64
from typing import Any

import pytest


def _names(target: Any, count: int) -> list[str]:
    return [target.create_face_search(f"cam-{i:02d}") for i in range(count)]


def _mine(target: Any, processors: list[dict[str, Any]]) -> list[str]:
    return [p["Name"] for p in processors if p["Name"].startswith(target.prefix)]


def test_pages_cover_every_processor_once(target: Any) -> None:
    created = _names(target, 7)
    seen: list[str] = []
    sizes: list[int] = []
    kwargs: dict[str, Any] = {"MaxResults": 3}
    while True:
        page = target.client.list_stream_processors(**kwargs)
        sizes.append(len(page["StreamProcessors"]))
        seen += _mine(target, page["StreamProcessors"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    if not target.live:
        assert sizes == [3, 3, 1]


def test_paginator(target: Any) -> None:
    created = _names(target, 5)
    paginator = target.client.get_paginator("list_stream_processors")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    names = [name for page in pages for name in _mine(target, page["StreamProcessors"])]
    assert sorted(names) == sorted(created)


def test_list_reports_status(target: Any) -> None:
    name = target.create_face_search("faces")
    listed = target.client.list_stream_processors()["StreamProcessors"]
    assert {"Name": name, "Status": "STOPPED"} in listed


def test_processor_deleted_between_pages_does_not_break_paging(target: Any) -> None:
    created = _names(target, 4)
    first = target.client.list_stream_processors(MaxResults=2)
    assert [p["Name"] for p in first["StreamProcessors"]] == created[:2]
    target.client.delete_stream_processor(Name=created[1])
    target.wait_gone(created[1])
    rest = target.client.list_stream_processors(MaxResults=2, NextToken=first["NextToken"])
    assert [p["Name"] for p in rest["StreamProcessors"]] == created[2:]
    assert "NextToken" not in rest


@pytest.mark.parametrize(
    "token",
    ["not-a-token", base64.urlsafe_b64encode(b"something else").decode(), "%%%"],
)
def test_invalid_pagination_token(target: Any, token: str) -> None:
    with target.error("InvalidPaginationTokenException", 400):
        target.client.list_stream_processors(NextToken=token)


def test_pagination_token_longer_than_255(target: Any) -> None:
    with target.error("InvalidParameterException", 400):
        target.client.list_stream_processors(NextToken="a" * 256)


def test_default_page_size_and_cap(target: Any, control: Any) -> None:
    control.configure(page_size=4)
    _names(target, 6)
    page = target.client.list_stream_processors()
    assert len(page["StreamProcessors"]) == 4
    assert "NextToken" in page
    assert len(target.client.list_stream_processors(MaxResults=100)["StreamProcessors"]) == 4


def test_list_is_per_region(target: Any, control: Any) -> None:
    target.create_face_search("faces")
    assert control.client("eu-west-1").list_stream_processors()["StreamProcessors"] == []


# -- tags ----------------------------------------------------------------------------------------------


def test_tag_untag_list(target: Any) -> None:
    arn = target.create(target.face_search_request("faces", Tags={"a": "1"}))
    client = target.client
    client.tag_resource(ResourceArn=arn, Tags={"b": "2", "a": "changed"})
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"a": "changed", "b": "2"}
    client.untag_resource(ResourceArn=arn, TagKeys=["a", "not-there"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
    client.untag_resource(ResourceArn=arn, TagKeys=[])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}


def test_tag_count_limit(target: Any) -> None:
    """At most 50 tags per resource: AWS's tagging rules ("Maximum number of tags per resource - 50",
    https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html, which TagResource refers to)."""
    arn = target.create(target.face_search_request("faces", Tags={f"k{i}": "v" for i in range(30)}))
    target.client.tag_resource(ResourceArn=arn, Tags={f"k{i}": "w" for i in range(20, 50)})
    assert len(target.client.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50
    with target.error("ServiceQuotaExceededException", 400):
        target.client.tag_resource(ResourceArn=arn, Tags={"one-too-many": "v"})
    assert len(target.client.list_tags_for_resource(ResourceArn=arn)["Tags"]) == 50


def test_fifty_one_tags_at_create_are_over_the_limit(target: Any) -> None:
    with target.error("ServiceQuotaExceededException", 400):
        target.create(target.face_search_request("faces", Tags={f"k{i}": "v" for i in range(51)}))


@pytest.mark.parametrize(
    "tags",
    [
        {"aws:cloudformation:stack-name": "x"},
        # "Do not use aws:, AWS:, or any upper or lowercase combination of such as a prefix" (AWS's
        # tagging rules, e.g. https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/ECS/TTag.html).
        {"AWS:x": "v"},
        {"Aws:x": "v"},
        {"k" * 129: "v"},
        {"k": "v" * 257},
        {"bad!key": "v"},
    ],
    ids=["aws prefix", "AWS prefix", "Aws prefix", "key 129", "value 257", "key pattern"],
)
def test_tag_constraints(target: Any, tags: dict[str, str]) -> None:
    arn = target.create(target.face_search_request("faces"))
    with target.error("InvalidParameterException", 400):
        target.client.tag_resource(ResourceArn=arn, Tags=tags)
    assert target.client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {}


def test_untag_key_constraints(target: Any) -> None:
    arn = target.create(target.face_search_request("faces"))
    with target.error("InvalidParameterException", 400):
        target.client.untag_resource(ResourceArn=arn, TagKeys=["k" * 129])


def test_unknown_arn_is_not_found(target: Any) -> None:
    arn = f"arn:aws:rekognition:{target.region}:{target.account}:streamprocessor/{target.name('missing')}"
    with target.error("ResourceNotFoundException", 400):
        target.client.list_tags_for_resource(ResourceArn=arn)
    with target.error("ResourceNotFoundException", 400):
        target.client.tag_resource(ResourceArn=arn, Tags={"a": "b"})
    with target.error("ResourceNotFoundException", 400):
        target.client.untag_resource(ResourceArn=arn, TagKeys=["a"])


def test_malformed_arn_is_invalid(target: Any) -> None:
    with target.error("InvalidParameterException", 400):
        target.client.list_tags_for_resource(ResourceArn="this is not an arn at all")


def test_tags_of_a_processor_in_another_region_are_not_found(target: Any, control: Any) -> None:
    arn = target.create(target.face_search_request("faces"))
    with target.error("ResourceNotFoundException", 400):
        control.client("eu-west-1").list_tags_for_resource(ResourceArn=arn)
