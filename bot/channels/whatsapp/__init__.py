"""WhatsApp Business Cloud API: employees talk to the helpdesk in a WhatsApp chat with
the office's business number, as they do on Telegram (conversation, FAQ, reports,
notices; operators' Ambil / Akui / Selesai as buttons). Groups are not served: operator
alerts stay in Telegram or Slack, personal notices reach linked operators here.

Setting up (docs/whatsapp.md has the steps at Meta): WHATSAPP_ACCESS_TOKEN,
WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN turn it on;
register https://<host>/whatsapp/webhook with the verify token and subscribe to the
"messages" field; approve a template for notices outside the 24-hour window and name it
in WHATSAPP_TEMPLATES.

Import from here; the underscored modules may move.
"""

from bot.channels.whatsapp._app import WEBHOOK_PATH, WhatsAppChannel
from bot.channels.whatsapp._graph import Graph, GraphError
from bot.channels.whatsapp._inbound import CHANNEL, SIGNATURE_HEADER, Inbound, signature_ok
from bot.channels.whatsapp._outgoing import Sender, messages_for
from bot.channels.whatsapp._spec import SPEC, start
from bot.channels.whatsapp._transport import WhatsAppTransport, template_parameter

__all__ = [
    "CHANNEL",
    "SIGNATURE_HEADER",
    "SPEC",
    "WEBHOOK_PATH",
    "Graph",
    "GraphError",
    "Inbound",
    "Sender",
    "WhatsAppChannel",
    "WhatsAppTransport",
    "messages_for",
    "signature_ok",
    "start",
    "template_parameter",
]
