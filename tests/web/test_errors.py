"""Errors read as people expect: in their language on pages, as JSON under /api."""


def test_a_missing_page_says_so_in_vietnamese_then_in_english(client):
    page = client.get("/khong-co-trang-nay")
    assert page.status_code == 404 and "Không tìm thấy trang hoặc nội dung bạn cần." in page.text
    client.post("/lang/en", data={"next": "/"})
    page = client.get("/khong-co-trang-nay")
    assert page.status_code == 404 and "The page or item you asked for was not found." in page.text


def test_api_errors_are_json_with_the_message(client):
    answer = client.get("/api/v1/khong-co")
    assert answer.status_code == 404
    assert answer.json == {"error": "Không tìm thấy trang hoặc nội dung bạn cần.", "fields": {}}


def test_a_wrong_method_is_405_with_a_message(client):
    answer = client.delete("/login")
    assert answer.status_code == 405 and "Thao tác này không dùng được ở địa chỉ này." in answer.text
