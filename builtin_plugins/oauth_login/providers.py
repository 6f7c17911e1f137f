"""The providers oauth_login knows, and which of them the admin switched on.

Discord and GitHub speak OAuth 2.0 with a user endpoint of their own; Google and the generic
provider speak OpenID Connect, configured by issuer URL: their endpoints and signing keys come
from the issuer's discovery document (:mod:`.discovery`). A provider is on when its client id
and secret are both set; the secrets are plugin settings of type ``secret`` (encrypted at rest,
write-only on the admin's Configure page).
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel import settings_for

PLUGIN = "oauth_login"
ORDER = ("discord", "google", "github", "oidc")
LABELS = {"discord": "Discord", "google": "Google", "github": "GitHub"}


@dataclass(frozen=True)
class Provider:
    """One configured provider: where to send people, how to read who they are."""

    key: str
    label: str
    kind: str  # "oidc" (discovery + id token) or "oauth2" (a user endpoint)
    client_id: str
    client_secret: str
    scope: str
    issuer: str = ""  # OpenID Connect
    authorize_url: str = ""  # OAuth 2.0 providers
    token_url: str = ""
    user_url: str = ""
    emails_url: str = ""  # GitHub: the verified addresses live here
    auth_method: str = "client_secret_basic"


def _strip(url: str) -> str:
    return (url or "").strip().rstrip("/")


def configured() -> dict[str, Provider]:
    """Every provider the admin switched on, in display order."""
    s = settings_for(PLUGIN)
    found: dict[str, Provider] = {}
    if s["discord_client_id"] and s["discord_client_secret"]:
        base = _strip(s["discord_base_url"])
        found["discord"] = Provider(
            "discord",
            "Discord",
            "oauth2",
            s["discord_client_id"],
            s["discord_client_secret"],
            "identify email",
            authorize_url=f"{base}/oauth2/authorize",
            token_url=f"{base}/api/oauth2/token",
            user_url=f"{base}/api/users/@me",
            auth_method="client_secret_post",
        )
    if s["google_client_id"] and s["google_client_secret"]:
        found["google"] = Provider(
            "google",
            "Google",
            "oidc",
            s["google_client_id"],
            s["google_client_secret"],
            "openid email profile",
            issuer=s["google_issuer"].strip(),
        )
    if s["github_client_id"] and s["github_client_secret"]:
        base, api = _strip(s["github_base_url"]), _strip(s["github_api_url"])
        found["github"] = Provider(
            "github",
            "GitHub",
            "oauth2",
            s["github_client_id"],
            s["github_client_secret"],
            "read:user user:email",
            authorize_url=f"{base}/login/oauth/authorize",
            token_url=f"{base}/login/oauth/access_token",
            user_url=f"{api}/user",
            emails_url=f"{api}/user/emails",
            auth_method="client_secret_post",
        )
    if s["oidc_issuer"] and s["oidc_client_id"] and s["oidc_client_secret"]:
        scopes = " ".join(dict.fromkeys(["openid", *(s["oidc_scopes"] or "").split()]))
        found["oidc"] = Provider(
            "oidc",
            s["oidc_name"] or "Single sign-on",
            "oidc",
            s["oidc_client_id"],
            s["oidc_client_secret"],
            scopes,
            issuer=s["oidc_issuer"].strip(),
        )
    return found


def label(key: str) -> str:
    """A provider's name, also for identities of a provider switched off since."""
    provider = configured().get(key)
    return provider.label if provider else LABELS.get(key, key)


def allow_signup() -> bool:
    return bool(settings_for(PLUGIN)["allow_signup"])
