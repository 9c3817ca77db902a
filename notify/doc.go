// Package notify is how refundflow talks to people and to the platform:
//
//   - learner messages (Render): what happened to a refund case or a ticket
//     and what happens next, in zh-CN or en, as a subject, a plain-text body
//     and an HTML body, from templates a support lead can edit
//     (templates/README.md);
//   - email delivery (Mailer, SMTPMailer): one SMTP transaction per Send,
//     with a Message-ID derived from the caller's stable id so that a retried
//     send is recognisable;
//   - platform webhooks (WebhookSender, Sign, Verify): signed event
//     deliveries the platform can verify with its shared secret.
//
// Everything here makes exactly one attempt and says whether another could
// succeed (IsPermanent): retries, backoff and deduplication belong to the
// caller, a Temporal activity fed from the PostgreSQL outbox, which knows the
// case's history. The package has no Temporal or SQL in it.
package notify
