"""Vietnamese paragraphs written for the similarity tests (no external data)."""

SOURCE = (
    "Trong bối cảnh chuyển đổi số, chính quyền cấp xã cần chủ động ứng dụng công nghệ thông tin "
    "để giải quyết thủ tục hành chính cho người dân một cách nhanh chóng, minh bạch và hiệu quả. "
    "Trước hết, xã phải rà soát lại toàn bộ quy trình tiếp nhận hồ sơ, loại bỏ những bước trùng lặp "
    "và công khai thời hạn giải quyết trên cổng thông tin điện tử. Cán bộ một cửa cần được tập huấn "
    "thường xuyên về kỹ năng số, đồng thời phải có thái độ niềm nở, tận tình hướng dẫn bà con sử dụng "
    "dịch vụ công trực tuyến. Đối với người cao tuổi và hộ nghèo, xã nên tổ chức tổ hỗ trợ lưu động "
    "đến tận thôn bản, giúp họ khai báo hồ sơ mà không phải đi lại nhiều lần. Kinh phí cho hạ tầng "
    "mạng và thiết bị cần được bố trí hợp lý từ ngân sách địa phương kết hợp với nguồn xã hội hoá. "
    "Cuối cùng, việc lấy ý kiến đánh giá sự hài lòng của người dân sau mỗi lần giao dịch sẽ giúp "
    "chính quyền kịp thời phát hiện hạn chế và điều chỉnh cách làm cho phù hợp với thực tiễn."
)

UNRELATED = [
    (
        "Phát triển nông nghiệp hữu cơ gắn với du lịch sinh thái là hướng đi phù hợp cho các xã miền núi. "
        "Người nông dân được hướng dẫn canh tác không dùng thuốc bảo vệ thực vật, sản phẩm được chứng nhận "
        "và bán với giá cao hơn. Hợp tác xã đóng vai trò kết nối thị trường, ký hợp đồng bao tiêu và "
        "xây dựng thương hiệu chè, mật ong, gạo nếp của địa phương. Du khách đến tham quan vườn đồi, "
        "trải nghiệm hái chè và nghỉ tại nhà dân, qua đó tăng thu nhập cho bà con và giữ gìn bản sắc "
        "văn hoá dân tộc. Chính quyền cần quy hoạch vùng nguyên liệu, làm đường giao thông và đào tạo "
        "kỹ năng đón tiếp khách cho thanh niên trong thôn."
    ),
    (
        "Công tác phòng chống thiên tai ở vùng ven biển đòi hỏi sự chuẩn bị từ sớm và từ xa. Mỗi năm, "
        "ban chỉ huy phòng chống thiên tai của huyện phải cập nhật phương án sơ tán dân, dự trữ lương thực, "
        "nước uống và thuốc men tại các điểm trú bão kiên cố. Lực lượng dân quân được diễn tập cứu hộ "
        "trên sông nước, còn ngư dân được nhắc nhở theo dõi bản tin thời tiết và đưa tàu thuyền vào nơi "
        "neo đậu an toàn. Sau mỗi cơn bão, việc khắc phục hậu quả cần nhanh chóng: dọn dẹp cây đổ, sửa "
        "chữa trường học, trạm y tế và hỗ trợ kịp thời những gia đình bị thiệt hại nặng về nhà cửa."
    ),
    (
        "Xây dựng văn hoá đọc trong thanh thiếu niên là nhiệm vụ lâu dài của cả gia đình, nhà trường "
        "và xã hội. Thư viện xã có thể mở cửa vào buổi tối và cuối tuần, tổ chức ngày hội sách, câu lạc "
        "bộ kể chuyện và cuộc thi giới thiệu sách hay. Cha mẹ nên dành thời gian đọc cùng con, hạn chế "
        "cho trẻ dùng điện thoại quá nhiều. Nhà trường phối hợp với đoàn thanh niên phát động phong trào "
        "quyên góp sách cũ cho học sinh vùng khó khăn, qua đó lan toả tinh thần chia sẻ và ham học hỏi."
    ),
]

# A scenario text that every essay may quote, and an essay template heading.
SCENARIO = (
    "Tình huống: Xã Tân Hoà có khoảng mười hai nghìn dân, trong đó hơn một phần ba là người dân tộc "
    "thiểu số sống rải rác ở các thôn vùng cao. Năm vừa qua, số hồ sơ trễ hạn tại bộ phận một cửa tăng "
    "mạnh, nhiều người dân phản ánh phải đi lại nhiều lần mới hoàn thành thủ tục cấp giấy chứng nhận."
)

OWN_VIEWS = [
    (
        "Theo tôi, nguyên nhân chính là thiếu cán bộ có chuyên môn và máy móc đã xuống cấp. Xã nên đề xuất "
        "huyện tăng cường biên chế, luân chuyển công chức trẻ về làm việc và mua sắm máy tính mới. "
        "Song song đó cần niêm yết rõ ràng danh mục giấy tờ để người dân chuẩn bị đầy đủ ngay từ đầu."
    ),
    (
        "Giải pháp tôi đề xuất là thành lập tổ công nghệ cộng đồng ở từng thôn, do thanh niên và giáo viên "
        "tham gia, giúp bà con nộp hồ sơ qua điện thoại. Đồng thời chủ tịch xã phải họp giao ban hàng tuần "
        "để kiểm tra tiến độ, xử lý nghiêm trường hợp gây phiền hà cho dân."
    ),
]

BOILERPLATE = "Kính gửi hội đồng chấm bài, sau đây là bài viết của học viên lớp bồi dưỡng cán bộ cấp xã năm nay."
