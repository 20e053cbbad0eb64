#!/usr/bin/env python3
"""Writes the week scenario's feeds (one HF daily-papers JSON, one arXiv RSS 2.0 and one journal
RSS 1.0 per day, Monday 2026-11-09 to Sunday 2026-11-15). Rerun after editing; the outputs are
committed so the test reads recorded files. Overlaps, revisions and identity forms are on purpose:
see WeekScenarioTests."""
import json, os
from email.utils import format_datetime
from datetime import datetime, timezone, timedelta
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
MONDAY = datetime(2026, 11, 9, tzinfo=timezone.utc)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

def title(name):
    return f"Paper {name} on steady progress"

# arXiv ids per paper name
ids = {"A1": "2611.10001", "A2": "2611.10002", "A3": "2611.10003", "A4": "2611.10004",
       "B1": "2611.10011", "B2": "2611.10012", "B3": "2611.10013",
       "B4": "2611.10014", "B5": "2611.10015", "B6": "2611.10016",
       "B19": "2611.10070", "B20": "2611.10071",
       "F1": "2611.10080", "F2": "2611.10081", "G1": "2611.10090", "G2": "2611.10091"}
for n in range(7, 19):  # B7..B18: the Wednesday over the cap; B7 is also on HF (as A5)
    ids[f"B{n}"] = f"2611.{10050 + n - 7}"

# HF: (name, upvotes); Thursday repeats Wednesday, the weekend repeats Friday (same bytes: 304)
hf = {
    "mon": [("A1", 5), ("A2", 3), ("A3", 1)],
    "tue": [("A1", 9), ("A4", 2)],
    "wed": [("B7", 4)],
    "thu": [("B7", 4)],
    "fri": [("F1", 7), ("F2", 2)],
    "sat": [("F1", 7), ("F2", 2)],
    "sun": [("F1", 7), ("F2", 2)],
}
# arXiv RSS: (name, version, announce type, link form)
arxiv = {
    "mon": [("A1", 1, "new", "abs"), ("A2", 1, "new", "abs"), ("B1", 1, "new", "abs"), ("B2", 1, "cross", "abs"), ("B3", 1, "new", "abs")],
    "tue": [("A2", 2, "replace", "abs"), ("A4", 1, "new", "abs"), ("B4", 1, "new", "abs"), ("B5", 1, "new", "abs"), ("B6", 1, "new", "abs")],
    "wed": [(f"B{n}", 1, "new", "context") for n in range(7, 19)],
    "thu": [("B10", 2, "replace", "abs"), ("B19", 1, "new", "abs"), ("B20", 1, "new", "abs")],
    "fri": [("F1", 1, "new", "abs"), ("G1", 1, "new", "abs"), ("G2", 1, "new", "abs")],
    "sat": [],
    "sun": [],
}
# journal RSS 1.0: (name, doi, identity form) ; "title-only" has neither id nor link; "empty" has nothing
journal = {
    "mon": [("J1", "10.1038/s41586-026-00001-1", "doi"), ("J2", "10.1038/s41586-026-00002-2", "doi")],
    "tue": [("J1", "10.1038/S41586-026-00001-1", "dx"), ("J3", "10.1038/s41586-026-00003-3", "doi")],
    "wed": [("J3", "10.1038/s41586-026-00003-3", "doi"), ("J4", "10.1038/s41586-026-00004-4", "doi")],
    "thu": [("J3", "10.1038/s41586-026-00003-3", "doi"), ("J4", "10.1038/s41586-026-00004-4", "doi")],
    "fri": [("J5", "10.1038/s41586-026-00005-5", "doi"), ("J6", None, "title-only"), ("-", None, "empty")],
    "sat": [("J5", "10.1038/s41586-026-00005-5", "doi"), ("J6", None, "title-only"), ("-", None, "empty")],
    "sun": [("J5", "10.1038/s41586-026-00005-5", "doi"), ("J6", None, "title-only"), ("-", None, "empty")],
}
# the weekend's journal feed is Friday's, byte for byte (the publisher did not rebuild it)
journal_day = {"sat": "fri", "sun": "fri"}

def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write(text)

for i, day in enumerate(DAYS):
    date = MONDAY + timedelta(days=i)
    # HF: Thursday's list is Wednesday's, the weekend's is Friday's, as recorded then
    hf_date = {"thu": MONDAY + timedelta(days=2), "sat": MONDAY + timedelta(days=4), "sun": MONDAY + timedelta(days=4)}.get(day, date)
    write(f"hf_{day}.json", json.dumps([
        {"paper": {"id": ids[n], "title": title(n), "summary": f"Abstract of {n}.", "upvotes": up,
                   "authors": [{"name": f"Author of {n}", "hidden": False}],
                   "publishedAt": (hf_date - timedelta(days=1)).isoformat().replace("+00:00", "Z")},
         "publishedAt": hf_date.isoformat().replace("+00:00", "Z"), "title": title(n)}
        for n, up in hf[day]], indent=1) + "\n")

    items = []
    for n, version, kind, form in arxiv[day]:
        link = f"https://arxiv.org/abs/{ids[n]}" + ("?context=cs.LG" if form == "context" else "")
        items.append(f"""    <item>
      <title>{escape(title(n))}</title>
      <link>{link}</link>
      <description>arXiv:{ids[n]}v{version} Announce Type: {kind} 
Abstract: Abstract of {n}{" (revised)" if version > 1 else ""}.</description>
      <guid isPermaLink="false">oai:arXiv.org:{ids[n]}v{version}</guid>
      <category>cs.LG</category>
      <pubDate>{format_datetime(date)}</pubDate>
      <arxiv:announce_type>{kind}</arxiv:announce_type>
      <dc:creator>Author of {n}, Second Author</dc:creator>
    </item>""")
    write(f"arxiv_{day}.xml", f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>cs.LG updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.LG</link>
    <description>cs.LG updates on the arXiv.org e-print archive.</description>
    <pubDate>{format_datetime(date)}</pubDate>
    <skipDays><day>Saturday</day><day>Sunday</day></skipDays>
{chr(10).join(items)}
  </channel>
</rss>
""")

    jday = journal_day.get(day, day)
    jdate = MONDAY + timedelta(days=DAYS.index(jday))
    jitems = []
    for n, doi, form in journal[jday]:
        if form == "empty":
            jitems.append("  <item><dc:publisher>Example Nature Publishing</dc:publisher></item>")
            continue
        if form == "title-only":
            jitems.append(f"""  <item>
    <title>{escape(title(n))}</title>
    <dc:date>{jdate.date().isoformat()}</dc:date>
  </item>""")
            continue
        url = f"https://www.nature.example/articles/{doi.split('/')[1].lower()}"
        identifier = f"doi:{doi}" if form == "doi" else f"http://dx.doi.org/{doi}"
        jitems.append(f"""  <item rdf:about="{url}">
    <title>{escape(title(n))}</title>
    <link>{url}</link>
    <description>Abstract of {n}.</description>
    <dc:creator>Author of {n}</dc:creator>
    <dc:identifier>{identifier}</dc:identifier>
    <dc:date>{jdate.date().isoformat()}</dc:date>
    <prism:doi>{doi}</prism:doi>
    <prism:publicationDate>{jdate.date().isoformat()}</prism:publicationDate>
  </item>""")
    write(f"journal_{day}.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns="http://purl.org/rss/1.0/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
  <channel rdf:about="https://www.nature.example/nature.rss">
    <title>Nature (composed sample)</title>
    <link>https://www.nature.example/nature</link>
    <description>Table of contents</description>
  </channel>
{chr(10).join(jitems)}
</rdf:RDF>
""")
