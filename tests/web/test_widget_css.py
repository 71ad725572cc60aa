"""The stylesheet's fixed colours stay readable: every status badge and avatar keeps 4.5:1."""

from __future__ import annotations

import re

import pytest

from widget_server.core.settings import PACKAGE_DIR

CSS = (PACKAGE_DIR / "static" / "widget.css").read_text()


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


BADGES = re.findall(r"\.cp-badge(?:\[data-tone=(\w+)\])? \{[^}]*?--badge-fg: (#\w{6}); "
                    r"--badge-bg: (#\w{6});", CSS)
AVATARS = re.findall(r'\.cp-avatar(?:\[data-hue="(\d)"\])? \{[^}]*?--hue: (#\w{6});', CSS)


def test_the_stylesheet_defines_every_tone_the_templates_use():
    tones = {tone or "default" for tone, _, _ in BADGES}
    assert {"default", "blue", "green", "amber", "red", "grey", "purple"} <= tones
    assert len(AVATARS) == 6


@pytest.mark.parametrize("tone,fg,bg", BADGES)
def test_status_badges_keep_4_5_to_1(tone, fg, bg):
    assert contrast(fg, bg) >= 4.5, (tone, round(contrast(fg, bg), 2))


@pytest.mark.parametrize("hue,colour", AVATARS)
def test_avatar_initials_keep_4_5_to_1(hue, colour):
    assert contrast("#ffffff", colour) >= 4.5, (hue, round(contrast("#ffffff", colour), 2))


@pytest.mark.parametrize("fg,bg", [("#a11a1a", "#fde7e7"), ("#ffffff", "#b42318"),
                                   ("#17603a", "#ffffff"), ("#ffffff", "#a11a1a")])
def test_other_fixed_colours_keep_4_5_to_1(fg, bg):
    assert all(c in CSS for c in (fg, bg) if c != "#ffffff")  # the colours still in use
    assert contrast(fg, bg) >= 4.5
