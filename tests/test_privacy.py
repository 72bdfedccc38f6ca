import logging

from devices.privacy import MaskingFilter, mask_address, mask_id_number, mask_name, mask_phone, mask_text


def test_the_masks_halls_print() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_id_number("41010219900101123X") == "4101**********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("河南省平安县城关镇人民路12号") == "河南省平安县****"


def test_numbers_inside_free_text_are_masked_and_others_left() -> None:
    text = "bad body {'id': '41010219900101123X', 'tel': '13812345678', 'counter': 12, 'ticket': 'A023'}"
    out = mask_text(text)
    assert "41010219900101123X" not in out and "4101**********123X" in out
    assert "138****5678" in out and "'counter': 12" in out and "A023" in out
    assert mask_text("seq 1234567890123456789012") == "seq 1234567890123456789012"  # not an ID


def test_logging_filter_masks_formatted_arguments(caplog) -> None:  # type: ignore[no-untyped-def]
    log = logging.getLogger("test.privacy")
    log.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO, logger="test.privacy"):
        log.info("reader sent %s", "410102199001011234")
    assert "4101**********1234" in caplog.text and "410102199001011234" not in caplog.text


def test_phone_numbers_written_with_spaces_dashes_or_the_country_code_are_masked() -> None:
    from devices.privacy import mask_text

    for written in ("138 1234 5678", "138-1234-5678", "+8613812345678", "+86 138 1234 5678", "8613812345678"):
        assert mask_text(f"回电 {written} 谢谢") == "回电 138****5678 谢谢", written
    assert mask_text("订单号 20261123138123456789") == "订单号 20261123138123456789"  # not inside longer numbers
