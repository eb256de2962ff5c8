"""Settings: where NavMetrics sends runs and receives results; secrets only ever shown masked."""

import streamlit as st

from navmetrics import config
from navmetrics.ui import context

st.title("Settings")
settings = context.settings()
env = config.environment()

st.write(f"**Mode:** {settings.mode}")
st.table(
    {
        "setting": [
            "EDGES_API_KEY",
            "EDGES_BASE_URL",
            "NAVMETRICS_DB",
            "NAVMETRICS_PUBLIC_URL",
            "NAVMETRICS_CALLBACK_TOKEN",
        ],
        "value": [
            config.mask(settings.api_key),
            settings.effective_base_url,
            str(settings.db_path),
            settings.effective_public_url or "(none: poll mode)",
            config.mask(settings.callback_token),
        ],
        "from": [
            config.origin(name, env)
            for name in (
                "EDGES_API_KEY",
                "EDGES_BASE_URL",
                "NAVMETRICS_DB",
                "NAVMETRICS_PUBLIC_URL",
                "NAVMETRICS_CALLBACK_TOKEN",
            )
        ],
    }
)

with st.form("edit"):
    key = st.text_input("Edges API key (leave empty to keep the current one)", type="password")
    base = st.text_input("Edges base URL", value=settings.base_url)
    public = st.text_input(
        "Public callback URL (a tunnel to the receiver; empty: poll mode)",
        value=settings.public_url or "",
    )
    if st.form_submit_button("Save settings", type="primary"):
        try:
            st.success(config.save_settings(api_key=key, base_url=base, public_url=public, env=env))
        except config.ConfigError as exc:
            st.error(str(exc))

st.subheader("Callback token")
st.write(
    f"Edges sends it as `Authorization: Bearer …`; it is kept in `{config.token_file(settings.db_path)}` "
    "(owner-only). A standalone receiver needs the same token in NAVMETRICS_CALLBACK_TOKEN."
)
if env.get("NAVMETRICS_CALLBACK_TOKEN"):
    st.info("The token is set by NAVMETRICS_CALLBACK_TOKEN; change it there.")
elif st.button(
    "Rotate the token",
    help="Runs still in flight carry the old token: their callbacks will be refused.",
):
    config.rotate_callback_token(settings.db_path)
    st.success(f"New token {config.mask(context.settings().callback_token)} in force.")
