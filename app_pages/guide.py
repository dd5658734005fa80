"""The planner's guide (docs/guide.md, Chinese) with its screenshots, readable in the app offline."""
import re

import streamlit as st

from app_pages import common
from geo.standards import REPO_ROOT

GUIDE = REPO_ROOT / "docs" / "guide.md"
_IMAGE = re.compile(r"^!\[(?P<alt>[^\]]*)\]\((?P<path>guide/[\w.-]+\.png)\)$")

if common.lang() != "zh":
    st.info(common.tr("guide.chinese_only"))
# Our own file: Markdown as written, images from docs/guide/ (st.markdown cannot load local files).
for block in GUIDE.read_text(encoding="utf-8").split("\n\n"):
    image = _IMAGE.match(block.strip())
    if image:
        st.image(str(GUIDE.parent / image["path"]), caption=image["alt"])
    else:
        st.markdown(block)
