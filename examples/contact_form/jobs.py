"""The contact form's background job: deliver a visitor's message to the site's inbox by SMTP.

Sending mail is slow and fails when the mail server is away, which is why the web request only
enqueues this job. Where the mail goes is read from the environment when the job runs:
``SMTP_HOST`` (default 127.0.0.1), ``SMTP_PORT`` (8025, where ``smtp_sink.py`` listens),
``CONTACT_INBOX`` (the recipient) and ``CONTACT_FROM`` (the sender).
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage

import jobframe

# The server is down, refuses, times out or hangs up: worth trying again later. Anything else
# (a rejected recipient, a bad configuration) fails the job and leaves it on the dead set.
SMTP_UNAVAILABLE = (
    ConnectionError,
    TimeoutError,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)


class ApplicationJob(jobframe.Job):
    """The base class of this app's jobs, as in Rails."""

    abstract = True


# polynomially_longer waits 3 s, 18 s, 83 s, 258 s, ...: 10 runs span about four hours of outage.
@jobframe.retry_on(*SMTP_UNAVAILABLE, wait=jobframe.polynomially_longer, attempts=10)
class SendContactEmailJob(ApplicationJob):
    queue_as = "mailers"
    log_arguments = False  # names, addresses and messages of visitors stay out of the logs

    def perform(self, name: str, email: str, message: str) -> None:
        mail = compose(self.job_id, name, email, message)
        host = os.environ.get("SMTP_HOST", "127.0.0.1")
        port = int(os.environ.get("SMTP_PORT", "8025"))
        with smtplib.SMTP(host, port, timeout=30) as smtp:
            smtp.send_message(mail)


def compose(job_id: str, name: str, email: str, message: str) -> EmailMessage:
    """The email to the inbox. Replying answers the visitor.

    Its Message-ID comes from the job id: delivery is at-least-once (a worker killed after sending
    runs the job again), and a repeat keeps the id, so mail clients can show it as one message.
    """
    mail = EmailMessage()
    mail["From"] = os.environ.get("CONTACT_FROM", "contact-form@example.com")
    mail["To"] = os.environ.get("CONTACT_INBOX", "inbox@example.com")
    mail["Reply-To"] = email
    mail["Subject"] = f"Contact form: message from {name}"
    mail["Message-ID"] = f"<{job_id}@contact-form.example.com>"
    mail.set_content(f"{name} <{email}> wrote:\n\n{message}\n")
    return mail
