"""Cases: the cases you may see with their status, and the open case's evidence, work and notes (who and when)."""

import streamlit as st

from forensics.cases import cases
from ui import auth, common, state

st.title("Cases")
st.caption(
    "Only a case's members and admins see it. Evidence is kept once, by SHA-256, in a read-only store; every "
    "action is written to the audit log with its user and case."
)
s = auth.current()
wb = auth.workbench()
rows = common.call(cases.list_cases, wb, s.user)
st.dataframe(
    [
        {
            "case": c.id,
            "title": c.title,
            "status": c.status,
            "members": ", ".join(c.members),
            "evidence": c.items,
            "work and notes": c.records,
            "created": c.created_at,
            "changed": c.updated_at,
        }
        for c in rows
    ],
    hide_index=True,
    width="stretch",
)

case = s.case
st.subheader(f"Case {case.id}")
st.text(f"{case.title} · {case.status} · opened by {case.created_by} on {case.created_at}")
if s.user.role != "reviewer":
    c1, c2 = st.columns(2)
    new_status = "closed" if case.status == "open" else "open"
    if c1.button("Close case" if new_status == "closed" else "Reopen case", key="case_status"):
        common.call(cases.set_status, wb, s.user, case.id, new_status)
        st.rerun()
    if not s.single_user:
        with c2.form("case_member"):
            member = st.text_input("Add a member (user name)", key="case_member_name")
            if st.form_submit_button("Add member") and member.strip():
                common.call(cases.add_member, wb, s.user, case.id, member.strip())
                st.rerun()

st.markdown("**Evidence**")
items = common.call(cases.list_items, wb, s.user, case.id)
if not items:
    st.caption("No evidence yet: choose a photo on the Detect page; it is kept in this case.")
cur = state.current()
for it in items:
    c1, c2 = st.columns([5, 1])
    c1.text(f"{it.name} · {it.size:,} bytes · sha256 {it.sha256} · added by {it.added_by} on {it.added_at}")
    if cur is None or cur.sha256 != it.sha256:
        if c2.button("Make current", key=f"case_item_{it.sha256}"):
            state.set_current(it.name, common.call(cases.item_bytes, wb, s.user, case.id, it.sha256), "case")
            st.rerun()
    else:
        c2.caption("current")

st.markdown("**Work and notes**")
for r in common.call(cases.list_records, wb, s.user, case.id):
    with st.expander(f"{r.kind} #{r.id} · {r.created_by} · {r.created_at}"):
        if r.item_sha256:
            st.text(f"evidence sha256 {r.item_sha256}")
        if r.kind == "note":
            st.text(r.payload.get("text", ""))
        else:
            st.json(r.payload, expanded=False)
        if r.blob_sha256:
            st.download_button(
                "Download the kept file",
                common.call(cases.record_blob, wb, s.user, case.id, r.id),
                file_name=f"case{case.id}-{r.kind}{r.id}.pdf",
                key=f"case_blob_{r.id}",
            )
with st.form("case_note", clear_on_submit=True):
    text = st.text_area("Note", key="case_note_text", height=80)
    if st.form_submit_button("Add note") and text.strip():
        common.call(cases.add_record, wb, s.user, case.id, "note", {"text": text})
        st.rerun()
