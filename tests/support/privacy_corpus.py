"""A corpus of planted secrets: (label, secret, line that carries it).

Every value is fake but has its provider's real shape. ``secret`` is the
substring that must never be stored; ``line`` is how a developer would have it
in a command, an output, a file or a note (``{s}`` marks where it goes). The
tests plant each line in commands, outputs, edited files and notes, then grep
the spool, the database, the blob store and the logs for ``secret``.
"""

from __future__ import annotations

import base64
import hashlib
import json


def _fill(
    seed: str,
    n: int,
    alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
) -> str:
    """A deterministic random-looking string (so the corpus is the same every run)."""
    out = []
    counter = 0
    while len(out) < n:
        digest = hashlib.sha256(f"{seed}-{counter}".encode()).digest()
        out += [alphabet[b % len(alphabet)] for b in digest]
        counter += 1
    return "".join(out[:n])


HEX = "0123456789abcdef"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _jwt(seed: str) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': seed, 'admin': True})}.{_fill(seed, 43)}"


_PEM_BODY = "\n".join(_fill(f"pem{i}", 64, B64) for i in range(4))

CORPUS: list[tuple[str, str, str]] = [
    # --- cloud providers
    ("aws-access-key", "AKIA" + _fill("aws1", 16, UPPER), "export AWS_ACCESS_KEY_ID={s}"),
    ("aws-access-key", "ASIA" + _fill("aws2", 16, UPPER), "aws_access_key_id = {s}"),
    ("aws-secret-key", _fill("aws3", 40, B64[:-2] + "/+"), "aws_secret_access_key = {s}"),
    ("aws-secret-key", _fill("aws4", 40), "AWS_SECRET_ACCESS_KEY={s} aws s3 ls"),
    ("google-api-key", "AIza" + _fill("g1", 35), 'GOOGLE_MAPS = "{s}"'),
    ("google-oauth-token", "ya29." + _fill("g2", 60), "curl -H 'X-Goog-Token: {s}' https://x"),
    (
        "azure-storage-account-access-key",
        _fill("az", 86, B64) + "==",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={s};",
    ),
    ("digitalocean-token", "dop_v1_" + _fill("do", 64, HEX), "doctl auth init -t {s}"),
    # --- code hosting and packages
    (
        "github-token",
        "ghp_" + _fill("gh1", 36),
        "git remote set-url origin https://{s}@github.com/o/r.git",
    ),
    ("github-token", "gho_" + _fill("gh2", 36), "GITHUB_TOKEN={s}"),
    ("github-token", "ghs_" + _fill("gh3", 36), "echo {s} | gh auth login --with-token"),
    (
        "github-token",
        "github_pat_" + _fill("gh4", 82, UPPER + "abcdefghijklmnopqrstuvwxyz_"),
        "token: {s}",
    ),
    ("gitlab-token", "glpat-" + _fill("gl1", 20), "GITLAB_TOKEN={s} glab mr list"),
    ("gitlab-token", "glrt-" + _fill("gl2", 24), "gitlab-runner register --token {s}"),
    ("npm-token", "npm_" + _fill("npm", 36), "//registry.npmjs.org/:_authToken={s}"),
    (
        "pypi-token",
        "pypi-AgEIcHlwaS5vcmc" + _fill("pypi", 80, B64[:-2] + "-_"),
        "twine upload -p {s} dist/*",
    ),
    ("huggingface-token", "hf_" + _fill("hf", 34), "huggingface-cli login --token {s}"),
    # --- chat, payments, mail
    (
        "slack-token",
        "xoxb-"
        + _fill("sl1", 12, "0123456789")
        + "-"
        + _fill("sl2", 13, "0123456789")
        + "-"
        + _fill("sl3", 24, "abcdefghijklmnopqrstuvwxyz0123456789"),
        "SLACK_BOT={s}",
    ),
    (
        "slack-token",
        "xoxp-"
        + _fill("sl4", 11, "0123456789")
        + "-"
        + _fill("sl5", 32, "abcdefghijklmnopqrstuvwxyz0123456789"),
        "slack_token: {s}",
    ),
    (
        "slack-token",
        "https://hooks.slack.com/services/T"
        + _fill("sw1", 8, UPPER)
        + "/B"
        + _fill("sw2", 8, UPPER)
        + "/"
        + _fill("sw3", 24),
        "curl -X POST {s} -d '{{}}'",
    ),
    ("stripe-key", "sk_live_" + _fill("st1", 24), "stripe.api_key = '{s}'"),
    ("stripe-key", "sk_test_" + _fill("st2", 24), "STRIPE_KEY={s}"),
    ("stripe-key", "rk_live_" + _fill("st3", 24), "restricted {s}"),
    (
        "stripe-webhook-secret",
        "whsec_" + _fill("st4", 32),
        "stripe listen # Ready! Your webhook signing secret is {s}",
    ),
    ("sendgrid-api-key", "SG." + _fill("sg1", 22) + "." + _fill("sg2", 43), "SENDGRID={s}"),
    ("twilio-api-key", "SK" + _fill("tw", 32, "abcdef0123456789"), "client = Client('{s}', x)"),
    ("mailchimp-access-key", _fill("mc", 32, "abcdef0123456789") + "-us12", "MC {s}"),
    ("telegram-bot-token", "123456789:" + _fill("tg", 35), "bot = Bot('{s}')"),
    (
        "discord-bot-token",
        "M" + _fill("dc1", 23) + "." + _fill("dc2", 6) + "." + _fill("dc3", 27),
        "client.run('{s}')",
    ),
    ("square-oauth-secret", "sq0csp-" + _fill("sq", 43), "SQUARE {s}"),
    # --- AI providers
    ("openai-api-key", "sk-proj-" + _fill("oa1", 48), "export OPENAI_API_KEY={s}"),
    (
        "openai-api-key",
        "sk-" + _fill("oa2", 20) + "T3BlbkFJ" + _fill("oa3", 20),
        "openai.api_key = '{s}'",
    ),
    ("anthropic-api-key", "sk-ant-api03-" + _fill("an", 80), "ANTHROPIC={s}"),
    # --- tokens and keys of any service
    ("jwt", _jwt("alice"), "Authorization: Bearer {s}"),
    ("jwt", _jwt("bob"), "session cookie was {s}"),
    (
        "bearer-token",
        _fill("br", 32),
        "curl -H 'Authorization: Bearer {s}' https://api.example.com",
    ),
    (
        "basic-auth",
        base64.b64encode(b"admin:" + _fill("ba", 12).encode()).decode(),
        "Authorization: Basic {s}",
    ),
    ("vault-token", "hvs." + _fill("vt", 90), "VAULT_TOKEN={s} vault kv get x"),
    ("prtrace-token", "pta_" + _fill("pt", 43), "prtrace --token {s} trace list"),
    (
        "private-key",
        "-----BEGIN RSA PRIVATE KEY-----\n" + _PEM_BODY + "\n-----END RSA PRIVATE KEY-----",
        "{s}\n",
    ),
    (
        "private-key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + _PEM_BODY.replace("A", "b")
        + "\n-----END OPENSSH PRIVATE KEY-----",
        "cat ~/.ssh/id\n{s}\n",
    ),
    (
        "private-key",
        _fill("pkjson", 64, B64),
        '{{"private_key": "-----BEGIN PRIVATE KEY-----\\n{s}\\n-----END PRIVATE KEY-----\\n"}}',
    ),
    # --- passwords
    (
        "url-password",
        "hunter2-" + _fill("up1", 8),
        "git clone https://alice:{s}@git.example.com/r.git",
    ),
    (
        "connection-string",
        "pg-" + _fill("cs1", 14),
        "DATABASE_URL=postgresql://app:{s}@db.internal:5432/app",
    ),
    ("connection-string", "my" + _fill("cs2", 14), "mysql://root:{s}@localhost/test"),
    ("connection-string", "rd" + _fill("cs3", 16), 'REDIS = "redis://:{s}@cache:6379/0"'),
    ("connection-string", "mg" + _fill("cs4", 16), "mongodb+srv://svc:{s}@cluster0.example.net/db"),
    ("secret-assignment", "correct horse battery", 'db_password = "{s}"'),
    ("secret-assignment", "S3cr3t!" + _fill("pw1", 6), "PGPASSWORD={s} psql -h db"),
    ("secret-assignment", "pw" + _fill("pw2", 10), "mysql -u root --password={s}"),
    ("secret-assignment", "tr0ub4dor&3", "password: {s}"),
    (
        "secret-assignment",
        "Server=db;Pwd9" + _fill("pw3", 6),
        "ConnectionString: Server=db;User Id=sa;Password={s};",
    ),
    ("secret-assignment", "hush-" + _fill("pw4", 12), 'config = {{"client_secret": "{s}"}}'),
    ("secret-assignment", "letmein" + _fill("pw5", 5), "SECRET_KEY={s}"),
    ("secret-assignment", "sesame-" + _fill("pw6", 9), "app.config['SECRET_KEY'] = '{s}'"),
    # --- random strings in assignments
    ("high-entropy-string", _fill("he1", 40, B64[:-2] + "_-"), 'SIGNING = "{s}"'),
    ("high-entropy-string", _fill("he2", 48, HEX), "salt = '{s}'"),
    ("high-entropy-string", _fill("he3", 32), "WEBHOOK_SIG={s}"),
]
"""58 secrets of 30 kinds."""


def planted_lines() -> list[str]:
    return [line.format(s=secret) for _, secret, line in CORPUS]


def secrets() -> list[str]:
    return [secret for _, secret, _ in CORPUS]


def needles(secret: str) -> list[str]:
    """What to grep for: the secret, and (for long ones) a distinctive slice of it, as
    text and as it appears inside JSON (a private key's line breaks as ``\\n``)."""
    out = {secret, json.dumps(secret)[1:-1]}
    if len(secret) > 24:
        core = secret[len(secret) // 2 - 8 : len(secret) // 2 + 8]
        if "\n" not in core:
            out.add(core)
    return sorted(out)
