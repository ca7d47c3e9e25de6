"""Made-up but plausible demo data: commune groups, provinces, people's names and bài thu hoạch.

Everything is a pure function of an index (and of the scenario), so seeding twice writes the same text and a
rerun can tell what is already there. Essays are built from the scenario's own sentences (cadres quote it),
sentences of analysis, local practice and lessons filled with varied details, and a recommendations section
(cơ quan chủ trì, thời hạn, chỉ tiêu); a cadre now and then copies a paragraph from a neighbour in the same
commune, as happens, so the similarity checks have something to find.
"""
from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from ..core import essays as core
from ..core.scenarios import EssaySpec, Scenario

FIRST_GROUPS = (("Xã Tân Hòa", "Tân Hòa"), ("Xã Bình An", "Bình An"))   # the small demo's two communes
PROVINCES = (
    "Tỉnh Đông Hải", "Tỉnh Hà Lâm", "Tỉnh Sơn Nguyên", "Tỉnh Tây Giang", "Tỉnh Nam Thành", "Tỉnh Bắc Hà",
    "Tỉnh Thanh Sơn", "Tỉnh Hải Đông", "Tỉnh Lâm Viên", "Tỉnh Trường Giang", "Tỉnh Kim Sơn", "Tỉnh Ngọc Lâm",
    "Tỉnh An Phú", "Tỉnh Phú Xuân", "Tỉnh Hồng Lĩnh", "Tỉnh Vĩnh Hòa", "Tỉnh Cửu Long", "Tỉnh Tân Châu",
    "Tỉnh Bình Sơn", "Tỉnh Quảng Hòa", "Tỉnh Đồng Nguyên", "Tỉnh Thái Hòa", "Tỉnh Minh Hải", "Tỉnh Long Giang",
    "Tỉnh Lạc Sơn", "Tỉnh Gia Định", "Tỉnh Phước Long", "Tỉnh Hưng Nguyên", "Tỉnh Xuân Lộc", "Tỉnh Đức Thọ",
    "Tỉnh Yên Thành", "Tỉnh Thạch Hà", "Tỉnh Cao Nguyên", "Tỉnh Hoàng Sa",
)
COMMUNES_PER_PROVINCE = 97          # 3,321 communes in 34 provinces
_COMMUNE_WORDS = (
    "Tân", "Bình", "An", "Hòa", "Phú", "Thạnh", "Long", "Mỹ", "Thuận", "Phước", "Hưng", "Đông", "Tây", "Nam",
    "Bắc", "Trung", "Vĩnh", "Quảng", "Hồng", "Minh", "Đức", "Thanh", "Xuân", "Hải", "Sơn", "Lâm", "Kim", "Ngọc",
    "Cát", "Phong", "Yên", "Lạc", "Gia", "Hợp", "Thành", "Lợi", "Phúc", "Thịnh", "Lộc", "Tiến", "Quang", "Nghĩa",
    "Lương", "Hiệp", "Khánh", "Định", "Hà", "Trường", "Điền", "Cường", "Châu", "Đại", "Thái", "Văn", "Hoàng",
    "Liên", "Mai", "Ninh", "Triệu", "Tường", "Vạn", "Thắng", "Hiếu", "Trà", "Cẩm", "Sa", "Lý", "Tịnh", "Diên",
    "Quý",
)
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
             "Ngô", "Dương", "Lý", "Đinh", "Lương", "Trương", "Mai")
_MEN = (("Văn", "Đức", "Minh", "Quốc", "Hữu", "Công", "Thanh", "Xuân"),
        ("An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Khánh", "Long", "Mạnh", "Nam", "Phong", "Quang",
         "Sơn", "Tài", "Thắng", "Toàn", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Lâm", "Tùng"))
_WOMEN = (("Thị", "Thu", "Ngọc", "Thanh", "Minh", "Hồng", "Kim", "Phương"),
          ("Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai",
           "Nga", "Nhung", "Oanh", "Phượng", "Quyên", "Thảo", "Trang", "Tuyết", "Vân", "Yến", "Hằng"))


@lru_cache(maxsize=8)
def commune_names(count: int) -> tuple[tuple[str, str], ...]:
    """``count`` unique commune groups as (group name, commune): the small demo's two, then two-word names in
    a fixed shuffled order (4,800 of them; beyond, numbered again)."""
    taken = {commune for _, commune in FIRST_GROUPS}
    pairs = [f"{a} {b}" for a in _COMMUNE_WORDS for b in _COMMUNE_WORDS if a != b and f"{a} {b}" not in taken]
    random.Random(2026).shuffle(pairs)
    communes = [commune for _, commune in FIRST_GROUPS] + pairs
    names = [communes[i % len(communes)] + (f" {i // len(communes) + 1}" if i >= len(communes) else "")
             for i in range(count)]
    return tuple((f"Xã {name}", name) for name in names)


def province_of(group_index: int, communes: int) -> str:
    """Communes fill provinces in order, about 97 to a province (one province for a small demo)."""
    provinces = min(len(PROVINCES), max(1, communes // COMMUNES_PER_PROVINCE))
    return PROVINCES[group_index * provinces // max(communes, 1)]


def person_name(index: int) -> str:
    """A Vietnamese full name for the ``index``-th cadre (names repeat, as they do in a national course)."""
    mix = (index * 2654435761) & 0xFFFFFFFF
    middles, givens = _WOMEN if mix & 1 else _MEN
    return (f"{_SURNAMES[(mix >> 1) % len(_SURNAMES)]} {middles[(mix >> 7) % len(middles)]} "
            f"{givens[(mix >> 12) % len(givens)]}")


# ---- essays ------------------------------------------------------------------------------------------------

_ROLES = ("Chủ tịch UBND", "Phó Chủ tịch UBND", "Bí thư Đảng ủy", "Phó Bí thư Đảng ủy",
          "Giám đốc Trung tâm Phục vụ hành chính công", "Trưởng phòng Kinh tế", "Chánh Văn phòng HĐND và UBND",
          "công chức địa chính", "công chức tư pháp - hộ tịch", "Trưởng phòng Văn hóa - Xã hội")
_CAUSES = (
    "việc phân cấp thẩm quyền chưa đi kèm hướng dẫn cụ thể và nguồn lực tương ứng",
    "hồ sơ bàn giao từ cấp huyện cũ thiếu thông tin, biên bản chỉ ghi số lượng",
    "đội ngũ công chức chuyên môn còn mỏng, một người phải kiêm nhiệm nhiều việc",
    "hệ thống thông tin mới chuyển đổi, dữ liệu cũ chưa được làm sạch và đối chiếu",
    "cơ chế phối hợp với các cơ quan chuyên môn cấp tỉnh chưa rõ ràng, trách nhiệm còn chồng chéo",
    "áp lực thành tích khiến một số nơi chú trọng con số hơn chất lượng giải quyết công việc",
    "tâm lý sợ sai, ngại trách nhiệm của một bộ phận cán bộ, công chức",
    "địa bàn sau hợp nhất rộng hơn trước, nhiều thôn ở xa trung tâm xã",
    "kinh phí chi thường xuyên chưa tính đủ khối lượng nhiệm vụ mới được giao",
    "thông tin với người dân chưa kịp thời nên phát sinh bức xúc, phản ánh trên mạng xã hội",
)
_FACTS = (
    "số hồ sơ tiếp nhận tăng khoảng {p}% so với trước khi hợp nhất",
    "có thời điểm {n} hồ sơ quá hạn vì chờ ý kiến của cơ quan cấp tỉnh",
    "người dân ở các thôn xa phải đi hơn {km} km để nộp hồ sơ",
    "chỉ có {c} công chức phụ trách lĩnh vực đất đai, xây dựng",
    "dữ liệu của {x} xã cũ được lưu ở các phần mềm khác nhau",
    "nhiều hồ sơ giấy chưa được số hóa nên mỗi lần tra cứu mất cả buổi",
    "tỷ lệ hồ sơ giải quyết đúng hạn mới đạt khoảng {q}%",
    "mỗi tháng xã nhận khoảng {m} phản ánh, kiến nghị của người dân",
)
_LESSONS = (
    "minh bạch thông tin là cách nhanh nhất để lấy lại niềm tin của người dân",
    "phải phân loại vấn đề trước khi huy động nguồn lực",
    "việc thuộc thẩm quyền của xã thì xã phải làm đến cùng, việc vượt thẩm quyền thì kiến nghị bằng số liệu cụ thể",
    "không được đổ trách nhiệm cho cấp dưới hay cho cấp trên",
    "dữ liệu phải trở thành công cụ điều hành hằng tuần chứ không chỉ để báo cáo",
    "áp lực chỉ tiêu không bao giờ là lý do để làm sai quy trình",
    "người đứng đầu phải trực tiếp đối thoại với người dân khi có bức xúc",
    "cải tiến quy trình bền vững hơn mọi chiến dịch ngắn hạn",
)
_AGENCIES = ("Sở Nội vụ", "Sở Tài chính", "Sở Nông nghiệp và Môi trường", "Sở Khoa học và Công nghệ",
             "Văn phòng UBND tỉnh", "Sở Tư pháp", "Ban Tổ chức Tỉnh ủy", "Sở Xây dựng", "Công an tỉnh",
             "Trung tâm Phục vụ hành chính công tỉnh")
_PARTNERS = ("UBND các xã, phường", "Văn phòng đăng ký đất đai tỉnh", "Sở Nội vụ", "Sở Tài chính",
             "các cơ quan chuyên môn thuộc UBND tỉnh", "Ủy ban Mặt trận Tổ quốc tỉnh", "Bưu điện tỉnh")
_ACTIONS = (
    "ban hành quy chế phối hợp giữa cấp xã với các cơ quan chuyên môn cấp tỉnh trong giải quyết thủ tục hành chính",
    "xây dựng cơ chế biệt phái công chức chuyên môn về hỗ trợ các xã có khối lượng hồ sơ lớn",
    "hướng dẫn thống nhất quy trình tiếp nhận, bàn giao hồ sơ dở dang từ cấp huyện cũ",
    "bố trí kinh phí số hóa hồ sơ địa chính và kết nối cơ sở dữ liệu đất đai của tỉnh với cấp xã",
    "sửa đổi bộ chỉ số đánh giá chất lượng phục vụ theo hướng đo cả chất lượng giải quyết, không chỉ số hồ sơ "
    "đúng hạn",
    "tổ chức bồi dưỡng chuyên sâu cho công chức địa chính, tư pháp cấp xã",
    "công khai tiến độ giải quyết từng hồ sơ trên cổng dịch vụ công để người dân tra cứu",
    "ban hành cơ chế bảo vệ cán bộ dám nghĩ, dám làm, dám chịu trách nhiệm vì lợi ích chung",
    "rà soát, chuẩn hóa dữ liệu dân cư, đất đai trước khi chuyển đổi hệ thống thông tin",
    "hướng dẫn rõ việc phân cấp, ủy quyền giữa cấp tỉnh và cấp xã đối với các nhiệm vụ trước đây của cấp huyện",
    "xây dựng kênh tiếp nhận, trả lời phản ánh của người dân trên nền tảng số trong vòng 48 giờ",
    "thí điểm bộ phận một cửa lưu động tại các thôn, tổ dân phố ở xa trung tâm xã",
)
_DEADLINES = ("trước ngày 31/12/2025", "trong quý I/2026", "trong quý II/2026", "trước ngày 30/6/2026",
              "trong 6 tháng kể từ ngày ban hành", "trong năm 2026", "trước kỳ họp giữa năm 2026 của HĐND tỉnh")
_TARGETS = ("tỷ lệ hồ sơ giải quyết đúng hạn đạt trên {q}%",
            "100% hồ sơ tồn đọng được phân loại và có lịch hẹn trả kết quả",
            "thời gian giải quyết trung bình giảm {p}%",
            "100% công chức địa chính cấp xã được bồi dưỡng",
            "mức độ hài lòng của người dân đạt trên {q}%",
            "không còn hồ sơ quá hạn trên {d} ngày",
            "{p}% hồ sơ được nộp trực tuyến")
_INTRO = (
    "Qua nghiên cứu tình huống “{title}”, tôi nhận thấy đây là vấn đề rất gần với thực tiễn công tác tại {xa}, "
    "{tinh}, nơi tôi đang công tác.",
    "Tôi hiện là {role} {xa}; từ ngày 01/7/2025, xã được thành lập trên cơ sở hợp nhất {x} xã cũ, dân số "
    "khoảng {dan} người.",
    "Tình huống đặt ra nhiều câu hỏi về vai trò của người đứng đầu chính quyền cấp xã khi vận hành mô hình "
    "chính quyền địa phương hai cấp.",
    "Bài thu hoạch này phân tích thực trạng, nguyên nhân, rút ra bài học và nêu một số kiến nghị cụ thể.",
    "Những gì tình huống mô tả cũng là điều chúng tôi đã trải qua trong những tháng đầu sau sắp xếp.",
)
_ANALYSIS = (
    "Theo tôi, nguyên nhân sâu xa là {cause}.",
    "Bên cạnh đó, không thể không nhắc đến {cause}.",
    "Nếu chỉ chạy theo chỉ tiêu mà bỏ qua quy trình, chính quyền sẽ đánh mất niềm tin của người dân.",
    "Người đứng đầu phải dám chịu trách nhiệm, báo cáo trung thực với cấp trên và công khai với người dân.",
    "Một quyết định đúng lúc này cần dựa trên số liệu đã được phân loại chứ không dựa trên cảm tính.",
    "Cái khó là nguồn lực có hạn trong khi yêu cầu của tỉnh và mong đợi của người dân đều rất cao.",
    "Điểm nghẽn không chỉ nằm ở con người mà còn ở cách tổ chức công việc và phối hợp giữa các cấp.",
    "Việc huy động thêm người không thay thế được việc cải tiến quy trình và làm rõ trách nhiệm từng khâu.",
)
_LOCAL = (
    "Thực tế tại {xa} cho thấy {fact}.",
    "Ở {xa}, {fact}, nên những khó khăn trong tình huống không hề xa lạ.",
    "Năm qua, {xa} đã thử {measure} và bước đầu thấy hiệu quả.",
    "Chúng tôi cũng gặp tình trạng {cause}.",
    "Từ kinh nghiệm của {xa}, tôi cho rằng {lesson}.",
)
_MEASURES = ("công khai danh sách hồ sơ quá hạn tại Trung tâm Phục vụ hành chính công",
             "giao ban hằng tuần dựa trên bảng theo dõi hồ sơ", "tổ chức tiếp nhận hồ sơ lưu động ở các thôn",
             "phân công mỗi lãnh đạo phụ trách một nhóm thủ tục", "lập nhóm Zalo trả lời nhanh câu hỏi của người dân",
             "đề nghị Sở cử chuyên viên về hỗ trợ thẩm định hồ sơ")
_CLOSING = (
    "Tình huống là bài học quý cho tôi và tập thể lãnh đạo {xa} trong thời gian tới.",
    "Tôi sẽ đề xuất với Đảng ủy, UBND {xa} vận dụng những bài học trên vào kế hoạch công tác năm 2026.",
    "Giải quyết tốt những việc cụ thể như vậy là cách thiết thực nhất để củng cố niềm tin của Nhân dân.",
)


def _sentences(text: str) -> list[str]:
    """The sentences of a scenario's Markdown, list marks and emphasis removed (8 to 60 words each)."""
    text = re.sub(r"\*\*|__", "", text)
    text = re.sub(r"(?m)^\s*(?:[-*]|\d+\.)\s+", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    merged: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+", text):
        if merged and piece and not piece[0].isupper():      # "TP. Hồ Chí Minh", "3,5 triệu đ. mỗi hồ sơ"
            merged[-1] += " " + piece
        elif piece:
            merged.append(piece)
    return [s for s in merged if s[0].isupper() and 8 <= core.count_words(s) <= 60]


def _pick(rng: random.Random, items: tuple[str, ...], used: set[str]) -> str:
    """One of ``items`` not yet in ``used`` (after a few tries, any), noted in ``used``."""
    for _ in range(6):
        item = rng.choice(items)
        if item not in used:
            break
    used.add(item)
    return item


@dataclass(frozen=True)
class Written:
    body: str
    words: int
    sha256: str


class EssayWriter:
    """Writes the ``index``-th cadre's essay on one scenario: the same index, commune and province always give
    the same text. ``copies`` names the earlier cadre of the same commune whose paragraphs it takes, if any."""

    def __init__(self, scenario: Scenario, spec: EssaySpec):
        self.title = scenario.title
        self.facts = _sentences("\n".join([scenario.summary, scenario.context] + [s.prompt for s in scenario.stages
                                                                                  if s.choices]))
        self.judgements = _sentences("\n".join(c.feedback for s in scenario.stages for c in s.choices))
        self.options = _sentences("\n".join(c.text for s in scenario.stages for c in s.choices))
        self.spec = spec
        self.section = spec.recommendations_section or "Kiến nghị, đề xuất"
        lo, hi = max(600, spec.min_words), 1200
        hi = min(max(lo, hi), spec.max_words) if spec.max_words else max(lo, hi)
        self.lo, self.hi = min(lo, hi), hi
        self._counted: dict[str, int] = {}

    def _words(self, piece: str) -> int:
        """Words of a piece joined to others by white space: the essay's count is the sum (the scenario's
        sentences, which recur, are counted once)."""
        n = self._counted.get(piece)
        if n is None:
            n = core.count_words(piece)
            if len(piece) <= 400 and len(self._counted) < 50_000:     # paragraphs are one cadre's: not kept
                self._counted[piece] = n
        return n

    @staticmethod
    def _rng(index: int, slot: int) -> random.Random:
        return random.Random(index * 131 + slot)

    def _fill(self, rng: random.Random, template: str, place: dict[str, str], used: set[str]) -> str:
        """``template`` with its details drawn at random, none drawn twice in one paragraph (``used``)."""
        values = dict(place, title=self.title)
        for name, items in (("cause", _CAUSES), ("lesson", _LESSONS), ("measure", _MEASURES), ("role", _ROLES)):
            if "{" + name + "}" in template:
                values[name] = _pick(rng, items, used)
        if "{fact}" in template:
            values["fact"] = _pick(rng, _FACTS, used).format(
                p=rng.randint(15, 60), n=rng.randint(40, 400), km=rng.randint(8, 35), c=rng.randint(2, 6),
                q=rng.randint(55, 85), m=rng.randint(20, 150), x=place["x"])
        return template.format(**values)

    def _paragraph(self, index: int, slot: int, place: dict[str, str]) -> str:
        """One paragraph of an essay, a pure function of (index, slot, place): what a neighbour copies."""
        rng, used = self._rng(index, slot), set[str]()

        def fill(template: str) -> str:
            return self._fill(rng, template, place, used)
        if slot == 0:
            return " ".join(fill(t) for t in (_INTRO[0], rng.choice(_INTRO[1:3]), _INTRO[3]))
        if slot in (1, 2):
            parts = []
            if self.facts:
                parts.append(f"Tình huống cho biết: “{rng.choice(self.facts)}”")
            parts.append(fill(_pick(rng, _ANALYSIS, used)))
            if self.options:
                parts.append(f"Với phương án “{rng.choice(self.options)}”, cần cân nhắc kỹ cái được và cái mất.")
            if self.judgements:
                parts.append(rng.choice(self.judgements))
            parts.append(fill(_pick(rng, _ANALYSIS, used)))
            return " ".join(parts)
        if slot == 3:
            return " ".join(fill(t) for t in rng.sample(_LOCAL, 4))
        if slot == 4:
            first, second = rng.sample(_LESSONS, 2)
            return f"Bài học rút ra là {first}. Đồng thời, {second}. " + fill(rng.choice(_ANALYSIS[2:4]))
        if slot == 5:
            party = "Tỉnh ủy " + place["tinh"].removeprefix("tỉnh ")
            lines = [f"Từ thực tiễn nêu trên, tôi kính đề nghị Ban Thường vụ {party} quan tâm chỉ đạo một số nội "
                     "dung sau:", ""]
            for n, action in enumerate(rng.sample(_ACTIONS, rng.randint(3, 6)), start=1):
                target = rng.choice(_TARGETS).format(q=rng.randint(85, 98), p=rng.randint(20, 60),
                                                     d=rng.choice((15, 30, 45)))
                lines.append(f"{n}. Đề nghị {rng.choice(_AGENCIES)} chủ trì, phối hợp với {rng.choice(_PARTNERS)} "
                             f"{action}; thời hạn: {rng.choice(_DEADLINES)}; chỉ tiêu kiểm tra: {target}.")
            return "\n".join(lines)
        return fill(rng.choice(_CLOSING))

    def _more(self, rng: random.Random, place: dict[str, str], used: set[str]) -> str:
        """One more sentence of analysis, to reach the essay's length."""
        kind = rng.randrange(4)
        if kind == 0 and self.facts:
            return f"Đáng chú ý, tình huống nêu: “{rng.choice(self.facts)}”"
        if kind == 1 and self.judgements:
            return rng.choice(self.judgements)
        return self._fill(rng, rng.choice(_ANALYSIS + _LOCAL), place, used)

    def write(self, index: int, commune: str, province: str, copies: int | None = None) -> Written:
        stable = zlib.crc32(commune.encode())        # a commune's own figures, the same in every essay
        place = {"xa": f"xã {commune}", "tinh": province[:1].lower() + province[1:], "x": str(2 + stable % 3),
                 "dan": f"{18 + stable % 57}.{100 + stable // 57 % 900}"}
        rng, used = self._rng(index, 99), set[str]()
        # a copier takes one or two of its neighbour's paragraphs word for word (analysis, local practice)
        taken = set(rng.sample((2, 3), rng.randint(1, 2))) if copies is not None else set()
        paragraphs = [self._paragraph(copies if slot in taken and copies is not None else index, slot, place)
                      for slot in range(7)]
        blocks = [[p] for i, p in enumerate(paragraphs) if i != 2]
        headings = self._outline(place)
        count = sum(self._words(h) for h in headings) + sum(self._words(p) for b in blocks for p in b)
        target = rng.randint(self.lo, self.hi)
        # a second paragraph of analysis when the essay is to be long enough for it (or it is the copied one)
        if 2 in taken or count + self._words(paragraphs[2]) <= target:
            blocks[1].append(paragraphs[2])
            count += self._words(paragraphs[2])
        extra: list[str] = []
        while count < target:
            sentence = self._more(rng, place, used)
            extra.append(sentence)
            count += self._words(sentence)
        while extra and count > self.hi and count - self._words(extra[-1]) >= self.lo:
            count -= self._words(extra.pop())
        if extra:
            blocks[1].append(" ".join(extra))
        body = "\n\n".join(f"## {heading}\n\n" + "\n\n".join(block)
                            for heading, block in self._arrange(headings, blocks)) + "\n"
        return Written(body, count, core.sha256(body))

    def _is_recommendations(self, heading: str) -> bool:
        return core.same_heading(heading, self.section)

    def _outline(self, place: dict[str, str]) -> list[str]:
        """The headings: the scenario's sections (with the recommendations one, added when missing), else a
        usual outline of a bài thu hoạch. Each heading once."""
        if not self.spec.sections:
            return ["I. Đặt vấn đề", "II. Phân tích tình huống", f"III. Liên hệ thực tiễn tại {place['xa']}",
                    "IV. Bài học và trách nhiệm người đứng đầu", f"V. {self.section}", "VI. Kết luận"]
        headings: list[str] = []
        for heading in [*self.spec.sections, self.section]:
            if heading.strip() and not any(core.same_heading(heading, h) for h in headings):
                headings.append(heading.strip())
        if all(self._is_recommendations(h) for h in headings):
            headings.insert(0, "Nội dung")
        return headings

    def _arrange(self, headings: list[str], blocks: list[list[str]]) -> list[tuple[str, list[str]]]:
        """The usual outline takes the blocks in order; a scenario's own sections get the recommendations under
        their heading and the other blocks spread over the rest, in order."""
        if not self.spec.sections:
            return list(zip(headings, blocks))
        recommendations, others = blocks[4], blocks[:4] + blocks[5:]
        plain = [h for h in headings if not self._is_recommendations(h)]
        arranged: dict[str, list[str]] = {h: [] for h in plain}
        for i, block in enumerate(others):
            arranged[plain[i * len(plain) // len(others)]].extend(block)
        return [(h, recommendations if self._is_recommendations(h) else arranged[h]) for h in headings]
