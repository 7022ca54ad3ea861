"""One Settings object, read from the environment and `.env`, passed to whoever needs it.

Nothing reads the environment at import time: tests build a `Settings` with the values
they need, and the CLI builds one at start.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DIR = PACKAGE_ROOT / "knowledge"


class Settings(BaseSettings):
    """All settings of the product; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    data_dir: Path = Field(Path("./var"), validation_alias=AliasChoices("HELPDESK_DATA_DIR", "data_dir"))
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HELPDESK_HOST", "host"))
    port: int = Field(8080, validation_alias=AliasChoices("HELPDESK_PORT", "port"))
    public_url: str = Field("http://127.0.0.1:8080", validation_alias=AliasChoices("HELPDESK_PUBLIC_URL", "public_url"))
    timezone: str = Field("Asia/Jakarta", validation_alias=AliasChoices("HELPDESK_TIMEZONE", "timezone"))
    default_language: str = Field("id", validation_alias=AliasChoices("HELPDESK_LANGUAGE", "default_language"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("HELPDESK_LOG_LEVEL", "log_level"))

    knowledge_dir: Path = Field(KNOWLEDGE_DIR / "articles", validation_alias=AliasChoices("HELPDESK_KNOWLEDGE_DIR", "knowledge_dir"))
    catalog_file: Path = Field(KNOWLEDGE_DIR / "catalog.yaml", validation_alias=AliasChoices("HELPDESK_CATALOG_FILE", "catalog_file"))
    people_file: Path = Field(KNOWLEDGE_DIR / "people.yaml", validation_alias=AliasChoices("HELPDESK_PEOPLE_FILE", "people_file"))
    load_samples: bool = Field(True, validation_alias=AliasChoices("HELPDESK_LOAD_SAMPLES", "load_samples"))

    faq_answer_threshold: float | None = Field(None, validation_alias=AliasChoices("FAQ_ANSWER_THRESHOLD", "faq_answer_threshold"))
    faq_suggest_threshold: float | None = Field(None, validation_alias=AliasChoices("FAQ_SUGGEST_THRESHOLD", "faq_suggest_threshold"))

    max_text_length: int = Field(4000, validation_alias=AliasChoices("HELPDESK_MAX_TEXT", "max_text_length"))
    link_code_ttl_minutes: int = Field(15, validation_alias=AliasChoices("HELPDESK_LINK_CODE_TTL", "link_code_ttl_minutes"))
    delivery_interval_seconds: float = Field(2.0, validation_alias=AliasChoices("HELPDESK_DELIVERY_INTERVAL", "delivery_interval_seconds"))

    telegram_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token"))
    telegram_api_base_url: str | None = Field(None, validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "telegram_api_base_url"))
    telegram_webhook_url: str | None = Field(None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "telegram_webhook_url"))
    telegram_webhook_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "telegram_webhook_secret"))
    telegram_operator_chats: list[int] = Field(default_factory=list, validation_alias=AliasChoices("TELEGRAM_OPERATOR_CHATS", "telegram_operator_chats"))
    #: messages per second for the whole bot (Telegram allows about 30); 0 turns the limiter off.
    telegram_rate_limit: float = Field(30.0, validation_alias=AliasChoices("TELEGRAM_RATE_LIMIT", "telegram_rate_limit"))

    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_signing_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"))
    slack_api_base_url: str | None = Field(None, validation_alias=AliasChoices("SLACK_API_BASE_URL", "slack_api_base_url"))
    slack_operator_channels: list[str] = Field(default_factory=list, validation_alias=AliasChoices("SLACK_OPERATOR_CHANNELS", "slack_operator_channels"))

    @property
    def resolved_database_url(self) -> str:
        """The embedded default is a SQLite file inside the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'helpdesk.db').resolve()}"
