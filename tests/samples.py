"""A small, complete course used by tests that need content on disk."""

COURSE = """\
id: khoa-thu
title: Khóa thử
topics:
  - {id: 1, title: Quản trị cấp xã}
  - {id: 2, title: Tăng trưởng}
"""
RUBRIC = """\
id: thu-hoach
version: 1
title: Chấm bài thu hoạch
criteria:
  - id: phan-tich
    title: Phân tích
    weight: 1
    levels:
      - {points: 0, label: Chưa đạt}
      - {points: 2, label: Tốt}
"""
SCENARIO = """\
id: t1-mau
version: 1
topic: 1
title: Tình huống mẫu
context: |
  Xã **Tân Hòa** vừa sáp nhập.
attachments:
  - file: data/bang.csv
    title: Bảng số liệu
stages:
  - id: s1
    prompt: Chọn hướng xử lý
    choices:
      - id: a
        text: Họp dân
        feedback: Đúng hướng
        points: 2
        next: s2
      - id: b
        text: Chờ tỉnh
        feedback: Chậm
        next: end-bad
  - id: s2
    prompt: Tiếp theo?
    choices:
      - {id: a, text: Làm ngay, feedback: Tốt, points: 1, next: end-good}
  - id: end-good
    prompt: Kết thúc tốt
  - id: end-bad
    prompt: Kết thúc chưa tốt
essay:
  prompt: Viết bài thu hoạch
  rubric: thu-hoach
  min_words: 10
"""
