/* bounce_tables.c - the rule tables: what the parser knows about the wording
 * of bounces, as data. One table per concern; each rule has a stable id
 * (stored with every event, so a stored bounce can be reclassified when the
 * rules change). Patterns are PCRE2, case-insensitive, multi-line, UTF-8.
 *
 * To add a rule: put it in the table of its concern, before any broader rule
 * that would also match, give it a new id (never reuse one), and add a
 * fixture under tests/fixtures/bounces/ that needs it. Some tables are run
 * branch by branch (table_by_branch, below): there a pattern's top-level
 * branches must each make sense alone, as they do unless it sets options
 * or refers back to a group (such a pattern is kept whole). */
#include <string.h>

#include "bouncer/bounce_private.h"

/* Subjects of bounces: mailer-daemon wording in the common languages. */
static const BounceRule table_bounce_subject[] = {
    { "subj-undeliver",   NULL, 0, "undeliver|undelivered|non[- ]?deliver|nondeliverable", NULL },
    { "subj-dsn",         NULL, 0, "delivery status notification|delivery (?:status|failure|report|problem|notification)|delivery has failed|failed delivery", NULL },
    { "subj-failure",     NULL, 0, "failure notice|mail delivery failed|mail delivery failure|delivery failed|returned mail|mail system error|could not send message|message delivery failure|delivery unsuccessful|permanent delivery failure|warning: could not send", NULL },
    { "subj-returned",    NULL, 0, "^(?:returned|bounced?|rejected|undeliverable)[ :]|mail could not be delivered|message could not be delivered|message not delivered|unable to deliver|not delivered|delivery error", NULL },
    { "subj-mailer",      NULL, 0, "mail(?:er)?[- ]daemon|postmaster notify|nondelivery|delayed mail|delivery delayed|warning: message .* delayed", NULL },
    { "subj-intl",        NULL, 0, "unzustellbar|nicht zustellbar|no entregado|non recapitabile|non remis|echec de (?:la )?livraison|échec de (?:la )?remise|impossible de remettre|onbestelbaar|不達|返送|配信不能|エラー|unzustellbare|не доставлено|mail could not be sent", NULL },
    /* Italian certified mail (PEC): its exact heading, not the words
     * alone, which a customer's "mancata consegna" of goods has too. */
    { "subj-pec",         NULL, 0, "^avviso di mancata consegna\\b", NULL },
    { "subj-dsn-mx",      NULL, 0, "^(?:mail|message) (?:returned|bounced)|error sending message|there was an error sending|email delivery failure|mailbox unavailable", NULL },
};

/* Senders of bounces. */
static const BounceRule table_bounce_from[] = {
    { "from-daemon",      NULL, 0, "mailer[-_]?daemon|mail delivery (?:subsystem|system|service)|post_?master@|\\bpostmaster\\b|mail administrator|mail\\.?delivery|bounce[sd]?@|\\bmailer@|no-?reply@.*\\b(?:bounce|dsn)|\\bmail router\\b|system administrator|mdaemon@|mailadmin|\\bmicrosoftexchange[0-9a-f]{32}@", NULL },
};

/* Wording in the text that only a bounce uses: enough to call the message
 * a bounce even under an ordinary subject. */
static const BounceRule table_bounce_body[] = {
    { "body-qmail",       NULL, 0, "this is the qmail-send program|i'm afraid i wasn't able to deliver your message|^--- below this line is a copy of the message\\.", NULL },
    { "body-exim",        NULL, 0, "this message was created automatically by mail delivery software|could not be delivered to one or more of its\\s+recipients|^-+ this is a copy of (?:your|the) message, including all the headers", NULL },
    { "body-postfix",     NULL, 0, "this is the (?:mail system|postfix program) at host|i'm sorry to have to inform you that (?:your message|the message returned below) could not", NULL },
    { "body-sendmail",    NULL, 0, "the original message was received at|----- the following addresses had (?:permanent fatal errors|fatal errors|delivery problems) -----|----- transcript of session follows -----|^transcript of session follows\\.?\\s*$", NULL },
    { "body-generic",     NULL, 0, "(?:your|the) message (?:could not|couldn't|cannot|can't|was not|wasn't) (?:be )?delivered|delivery to the following recipients? (?:failed|has been delayed)|message (?:could not|was not) be delivered to|could not be delivered to the following|(?:the following|your) message (?:could not|was undeliverable)|undeliverable to the following|delivery has failed to these recipients|your message did not reach some or all of the intended recipients|unable to deliver (?:your )?(?:message|mail) to|permanent fatal errors|your message wasn't delivered|message you sent (?:could not|couldn't) be delivered|delivery failed for the following|was not delivered to|the following recipient\\(s\\) could not be reached|mail delivery to the following recipients failed|could not deliver (?:mail|message|the message|your message)", NULL },
    /* Rarer wordings apart: a rule runs, and is compiled, only where its
     * words are. */
    { "body-generic-more", NULL, 0, "(?:mail )?message to the following address(?:es|\\(es\\))? could not be delivered|^unable to deliver (?:mail|message|the message|your message)\\.?\\s*$|(?:we had trouble|there was a problem) delivering your message|^\\*\\* (?:message not delivered|address not found|delivery incomplete) \\*\\*|^email delivery failure\\s*$|we could not complete delivery to|the message below was not delivered|your message \"[^\"\\n]{0,200}\" could not be delivered", NULL },
    { "body-delivered-to", NULL, 0, "could not be delivered to:|your mail sent on:|there was an error delivering your mail to|not a member of this (?:mailing )?list|are not member\\b", NULL },
    /* OpenSMTPD's letter */
    { "body-opensmtpd",   NULL, 0, "this is the mailer-daemon, please do not reply to this e-?mail|an error has occurred while attempting to deliver a message for", NULL },
    { "body-groups",      NULL, 0, "google groups|you do not have permission to post|the group you tried to contact", NULL },
    /* fml (a mailing list manager) returning a post it would not take. */
    { "body-fml",         NULL, 0, "^duplicated message-id in <[^>]+>\\.|^fml \\S+ has detected a loop condition|not member article from |^loop back warning: <[^>]+>\\.", NULL },
    /* Gmail's heading over each failed recipient in its other languages
     * ("** Address not found **" above). */
    { "body-gmail-l10n",  NULL, 0, "^\\*\\* (?:die adresse wurde nicht gefunden|adresse nicht gefunden|no se ha encontrado la direcci\\x{00f3}n|indirizzo non trovato|adresse introuvable|endere\\x{00e7}o n\\x{00e3}o encontrado|找不到地址|アドレスが見つかりません) \\*\\*", NULL },
    { "body-gmail-l10n-cyr", NULL, 0, "^\\*\\* адрес не найден \\*\\*", NULL },
    { "body-intl",        NULL, 0, "配信できませんでした|届きませんでした|送信できませんでした|宛先不明|存在しないか", NULL },
    /* Exchange's "recipients or groups" in its languages */
    { "body-exchange-intl", NULL, 0, "destinataires ou groupes|empf\\x{00e4}nger oder gruppen|destinatarios o grupos|destinatari o gruppi|(?:geadresseerden|ontvangers) of groepen|destinat\\x{00e1}rios ou grupos|mottagare eller grupper|adresat\\x{00f3}w lub grup|受信者またはグループ|收件人或组", NULL },
};

/* Out-of-office subjects, in the common languages. */
static const BounceRule table_autoreply_subject[] = {
    { "oof-en",  NULL, 0, "out of (?:the )?office|auto(?:matic|matisk|mated)?[- ]?(?:reply|response|answer|svar|antwort|respuesta|risposta|réponse)|\\bauto:|away from (?:the )?office|^away until|^away\\b|on (?:vacation|holiday|leave)|vacation (?:reply|message|notice)|\\bvacation\\b|i am (?:currently )?away|\\babsence\\b|(?:maternity|paternity|parental|sick) leave", NULL },
    /* Single words as words of their own: "Ferienwohnung" and
     * "Urlaubsantrag" are a customer's subjects, not an absence. */
    { "oof-de",  NULL, 0, "abwesenheit|nicht im büro|ausser haus|außer haus|\\burlaub\\b|\\babwesend\\b|automatische antwort", NULL },
    { "oof-fr",  NULL, 0, "\\babsent\\b|réponse automatique|reponse automatique|en congés?\\b|hors du bureau|message d'absence", NULL },
    { "oof-es",  NULL, 0, "fuera de la oficina|respuesta automática|\\bausente\\b|\\bvacaciones\\b", NULL },
    { "oof-it",  NULL, 0, "fuori sede|fuori ufficio|risposta automatica|\\bassente\\b|in ferie\\b", NULL },
    { "oof-nl",  NULL, 0, "\\bafwezig\\b|automatisch antwoord|niet op kantoor|met vakantie", NULL },
    { "oof-pt",  NULL, 0, "ausência|fora do escritório|resposta automática|\\bférias\\b", NULL },
    { "oof-nordic", NULL, 0, "frånvaro|fraværende|\\bfravær\\b|\\bpoissa\\b|\\bpoissaolo\\b|\\blomalla\\b|automatiskt? svar|automaattinen vastaus|\\bferie\\b", NULL },
    { "oof-ja",  NULL, 0, "不在|自動返信|自動応答|休暇", NULL },
    { "oof-misc", NULL, 0, "nieobecność|poza biurem|mimo kancelář|mimo kancelárie|în afara biroului|izvan ureda|ofis dışı|odpowiedź automatyczna|automatyczna odpowiedź|automatická odpověď|nepřítomnost|automatikus válasz|házon kívül|автоответ|автоматический ответ|отсутств|otomatik yanıt|dışarıda|自动回复|自動回覆|자동 응답|자동 회신", NULL },
    /* Outlook's "Automatic reply:" in more languages */
    { "oof-more", NULL, 0, "αυτόματη απάντηση|автоматична відповідь|răspuns automat|תשובה אוטומטית|מענה אוטומטי|رد تلقائي|automatická odpoveď|automatski odgovor|samodejni odgovor|automatinis atsakymas|automātiskā atbilde|automaatne vastus|automaatvastus|автоматичен отговор|аутоматски одговор|balasan otomatis|trả lời tự động|ตอบกลับอัตโนมัติ|sjálfvirkt svar", NULL },
};

/* Where the returned original starts in a prose bounce. */
static const BounceRule table_original_mark[] = {
    /* qmail, and the wordings of its patched and translated builds */
    { "mark-qmail",     NULL, 0, "^--- (?:below (?:this|the next) line is a copy of the (?:message|mail header)|enclosed (?:are the original headers of the message|is a copy of the message)|mensaje original adjunto)\\.", NULL },
    { "mark-exim",      NULL, 0, "^-+ this is a copy of the message|^-+ the header of the original message is following|^-+ this is a copy of (?:the|your) message's headers", NULL },
    { "mark-original",  NULL, 0, "^[ \\t]*-+\\s*(?:original message|original mail|the original message|original message follows|returned message|undelivered message|forwarded message|original message header|message headers? follows?|headers? of the original message)\\b.*-*[ \\t]*$", NULL },
    /* A mail client's "-----Original Message-----" in other languages,
     * as a notice that quotes the message inline writes it. */
    { "mark-original-l10n", NULL, 0, "^[ \\t]*(?:[-_=]{2,}[ \\t]*)?(?:ursprüngliche nachricht|kopie der ursprünglichen nachricht|copie du message d'origine|ursprungligt meddelande|orijinal ileti|originalnachricht|weitergeleitete nachricht|message d'origine|message transféré|mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|mensagem original|mensagem encaminhada|oorspronkelijk bericht|doorgestuurd bericht|oryginalna wiadomość|wiadomość przekazana|původní zpráva|přeposlaná zpráva|orijinal mesaj|özgün ileti|исходное сообщение|пересылаемое сообщение|原始邮件|原始郵件|元のメッセージ|원본 메시지)[ \\t]*(?::|[-_=]*)[ \\t]*$", NULL },
    { "mark-sendmail",  NULL, 0, "^[ \\t]*-+ ?(?:original message|unsent message (?:below|follows)|returned mail follows|message header follows|the original message headers are included) ?-+[ \\t]*$", NULL },
    { "mark-follow",    NULL, 0, "^[ \\t]*(?:message headers follow|(?:possibly truncated )?original message follows|headers of the original message follow)\\b.*$", NULL },
    /* Exchange's "Original message headers:" also in Italian, French,
     * German, Spanish, Portuguese, Dutch, Japanese and Chinese. */
    { "mark-prose",     NULL, 0, "^original message:[ \\t]*$|^original mail as follows:[ \\t]*$|^[ \\t]*(?:original message headers?|the original message headers? (?:is|are) (?:included|below|as follows)|the message headers? (?:is|are) below|a copy of the original message (?:below|follows)|your message reads? \\(in part\\)|this is a copy of the original message|below is a copy of the original message|the text of your message was)\\b.*$|^[ \\t]*(?:intestazioni originali del messaggio|en-t\\x{00ea}tes de message d'origine)[ \\t]*:[ \\t]*$", NULL },
    { "mark-prose-l10n", NULL, 0, "^[ \\t]*(?:urspr\\x{00fc}ngliche nachrichtenkopfzeilen|encabezados originales del mensaje|cabe\\x{00e7}alhos da mensagem original|oorspronkelijke berichtkoppen|元のメッセージ ヘッダー|原始邮件头|oryginalne nagłówki wiadomości|původní záhlaví zprávy|исходные заголовки сообщения)[ \\t]*:[ \\t]*$", NULL },
    { "mark-content",   NULL, 0, "^content-type: (?:message/rfc822|text/rfc822-headers)", NULL },
    /* Smail 3 and Deutsche Telekom's build of it close the failed
     * addresses with a banner of their own:
     * "|---- Message header follows: ----|" or "... Message text follows: ...". */
    { "mark-smail",     NULL, 0, "^\\|-+ message (?:header|text) follows: -+\\|[ \\t]*$", NULL },
    /* Zoho returns the original under its own relay's Received line. */
    { "mark-zoho",      NULL, 0, "^received: from mail\\.zoho\\.com by mx\\.zohomail\\.com\\b", NULL },
};

/* Lines that name a failed recipient. Group 1 is the address. Tried all
 * at once over each line of the error text; the earliest match wins. */
static const BounceRule table_recipient[] = {
    /* fml's sentences name the list last: "NOT MEMBER article from x@y
     * <list@example.jp>.", "Loop Back Warning: <list@example.jp>.",
     * "Security alert: ... <list@example.jp>." Read ahead, so that the
     * sentence, which says why, stays the diagnostic. */
    { "rcpt-fml",         "strong", 1, "^(?=\\s*(?:not member article from \\S+|loop back warning:|security alert:[^<\\n]{0,120}|you are not a member of this mailing list)\\s*<([^\\s<>@]+@[^\\s<>]+)>\\.\\s*$)", NULL },
    /* Active!hunter lists each address it gave up on as ">>> x@y <x@y>"
     * under Sendmail's "permanent fatal errors" heading (a transcript's
     * ">>> RCPT To:<x@y>" names a command first, never an address). */
    { "rcpt-ahunter",     "strong", 1, "^>>>[ \\t]+[^\\s<>@]+@[^\\s<>@]+[ \\t]+<([^\\s<>@]+@[^\\s<>@]+)>[ \\t]*$", NULL },
    /* qmail, Postfix prose, Yahoo: "<user@example.com>:" on its own line
     * or followed by the reason; GMX quotes it instead. */
    { "rcpt-angle-colon", "sure", 1, "^\\s*<([^\\s<>@]+@[^\\s<>]+)>:", NULL },
    { "rcpt-quoted-colon", "sure", 1, "^\\s*\"([^\\s\"@]+@[^\\s\"]+)\":", NULL },
    { "rcpt-bare-colon", "sure", 1, "^([^\\s<>\"@]+@[^\\s<>\":]+):[ \\t]*$", NULL },
    /* Sendmail: "user@example.com... User unknown", also after a reply
     * code in a session transcript. */
    { "rcpt-sendmail-dots", "sure", 1, "^\\s*(?:[245]\\d\\d[ -])?<?([^\\s<>@]+@[^\\s<>.]+(?:\\.[^\\s<>.]+)*)>?\\.\\.\\.\\s", NULL },
    /* Sendmail names a recipient as it was given, with the name when
     * the message came with one ("Rosa Lima <x@y>... User unknown",
     * "\"Ivo Horvat\" <x@y>... Mailbox full"). A name starts with no digit:
     * "550 5.1.1 <x@y>... User unknown" is the remote server's reply. */
    { "rcpt-sendmail-name-dots", "sure", 1, "^(?:\"[^\"\\n]{1,64}\"|[^\\s\\d.<>()@\"\\[:,;][^<>()@\"\\[:,;\\n]{0,63}?)[ \\t]+<([^\\s<>@]+@[^\\s<>.]+(?:\\.[^\\s<>.]+)*)>\\.\\.\\.\\s", NULL },
    /* OpenSMTPD: "user@example.com: 550 5.1.1 ..." */
    { "rcpt-colon-reply", "sure", 1, "^\\s*<?([^\\s<>:@]+@[^\\s<>:]+?)>?:(?=\\s+[245]\\d\\d[ -])", NULL },
    /* OpenSMTPD names a recipient the same way over its own words
     * ("user@example.com: Domain does not exist"), one line each. */
    { "rcpt-colon-words", "strong", 1, "^([^\\s<>\"@:]+@[^\\s<>\":]+):[ \\t]+(?=[a-z])", NULL },
    /* Smail 3: " user@example.com ... unknown host",
     * " user@example.com ... failed: <reason>". */
    { "rcpt-smail-dots",  "strong", 1, "^[ \\t]*<?([^\\s<>@]+@[^\\s<>.]+(?:\\.[^\\s<>.]+)*)>? \\.\\.\\. (?=\\S)", NULL },
    /* IMail names each recipient after its reason, one a line: "Unknown
     * user: x@y", "User mailbox exceeds allowed size: x@y", "Unknown
     * host: x@y", "Invalid final delivery userid: x@y". Read ahead, so
     * that the line, which says why, stays the diagnostic. */
    { "rcpt-imail-label", "strong", 1, "^(?=[ \\t]*(?:unknown user|unknown host|user mailbox exceeds allowed size|invalid final delivery userid):[ \\t]+<?([^\\s<>@]+@[^\\s<>]+?)>?[ \\t]*$)", NULL },
    /* Exchange 5.5/2000/2003: "user@example.com on Thu, 29 Apr 2007 ..." */
    { "rcpt-exchange-on", "strong", 1, "^\\s*<?([^\\s<>()@\"]+@[^\\s<>()@\"]+?)>?(?= on (?:mon|tue|wed|thu|fri|sat|sun|\\d))", NULL },
    /* Zoho: "user@example.com Invalid Address, ERROR_CODE :550, ..." */
    { "rcpt-invalid-address", "strong", 1, "^\\s*<?([^\\s<>()@\"]+@[^\\s<>()@\"]+?)>?(?= invalid address\\b)", NULL },
    /* Exim, Gmail, Courier: an indented address alone on its line, its
     * local part maybe quoted ("mary jane"@example.com); what trails it
     * may be a no-break or zero-width space. */
    { "rcpt-indented",    "strong", 1, "^[ \\t]+<?((?:\"[^\"\\n]{1,64}\"|[^\\s<>()@\"]+)@[^\\s<>()@\"]+?)>?:?[ \\t\\x{00A0}\\x{200B}\\x{FEFF}]*$", NULL },
    /* An address leading a line, then the reason in brackets. */
    { "rcpt-lead-bracket","strong", 1, "^\\s*(?:\\d{1,3}[.)]\\s+)?<?([^\\s<>()@\"\\[]+@[^\\s<>()@\"\\[]+?)>?:?\\s+[\\[(]", NULL },
    /* An indented address, a dash, then the reason ("  x@y - mailbox
     * does not exist"). */
    { "rcpt-lead-dash",   "strong", 1, "^[ \\t]+<?([^\\s<>()@\"\\[]+@[^\\s<>()@\"\\[]+?)>?:?[ \\t]+[-\\x{2013}\\x{2014}][ \\t]+(?=\\S)", NULL },
    /* The same with the recipient's name before the address in angle
     * brackets ("  \"Olga Petrova\" <x@y> - mailbox unavailable",
     * "  Ivan Sidorov <x@y> (552 5.2.2 mailbox full)"). */
    { "rcpt-name-lead",   "strong", 1, "^[ \\t]+(?:\"[^\"\\n]{1,64}\"|[^\\s<>()@\"\\[:,;][^<>()@\"\\[:,;\\n]{0,63}?)[ \\t]+<([^\\s<>()@\"\\[]+@[^\\s<>()@\"\\[]+?)>:?[ \\t]+(?:[-\\x{2013}\\x{2014}][ \\t]+(?=\\S)|[\\[(])", NULL },
    /* "Could not deliver to <x>", "failed for x", "RCPT TO:<x>";
     * CommuniGate quotes it: "Failed to deliver to '<x>'" */
    { "rcpt-phrase",      "weak", 1, "(?:recipient|address|deliver(?:y|ed)? to|delivering to|sent to|mail to|message to|rcpt to:?|to:|user|mailbox|list|error (?:to|for))\\s*:?\\s*['\"]?<([^\\s<>@]+@[^\\s<>]+)>", NULL },
    { "rcpt-phrase-bare", "weak", 1, "(?:failed recipient|original recipient|recipient address|final recipient|recipient|addressee|failed address|invalid address|unknown address|rcpt to)\\s*:\\s*(?:rfc822;\\s*)?<?([^\\s<>\"@]+@[^\\s<>\"]+?)>?(?:[\\s,;]|\\.(?:\\s|$)|$)", NULL },
    /* Gmail's notice: "Your message wasn't delivered to x@y because ...", also wrapped by a
     * gateway after the address ("... delivered to x@y\n because the address ..."). */
    { "rcpt-delivered-to-because", "weak", 1, "(?:wasn't|was not|couldn't be|could not be) delivered to <?([^\\s<>\"@]+@[^\\s<>\"]+?)>?(?: because\\b|[ \\t]*$)", NULL },
    /* The same sentence wrapped before the address: the line opens with it. */
    { "rcpt-lead-because", "weak", 1, "^[ \\t]*<?([^\\s<>\"@]+@[^\\s<>\"]+?)>? because the (?:address|domain)\\b", NULL },
    /* A sentence naming the one address it failed for, in a notice's
     * own words: "Your message to x@y couldn't be delivered", "Could not
     * deliver message to 'x@y'", "Delivery failed for <x@y>:", Gmail's
     * "problem delivering your message to x@y.", Exchange's German and
     * French "Ihre Nachricht an x@y", "Votre message à x@y", mail.ru's
     * "Local mailbox x@y is unavailable". The address may be quoted. */
    { "rcpt-sentence",    "weak", 1, "(?:^|\\s)(?:your message to|(?:could not|couldn't|unable to) deliver (?:your |the )?(?:message |mail |e-?mail )?to|delivery (?:has )?failed (?:for|to)|problem delivering your message to|(?:ihre|die) nachricht an|votre message (?:à|a)|local mailbox)\\s+['\"\\x{2018}\\x{201C}\\x{00AB}]?<?([^\\s<>\"'@]+@[^\\s<>\"']+?)>?['\"\\x{2019}\\x{201D}\\x{00BB}]?(?=[\\s,;:!?]|\\.(?:\\s|$)|$)", NULL },
    /* Gmail's sentence naming the recipient in its other languages, the
     * address in the middle: "Ihre Nachricht wurde nicht an x@y zugestellt,
     * weil ...", "Tu mensaje no se ha entregado a x@y porque ...", "Il tuo
     * messaggio non è stato recapitato a x@y perché ...", "Votre message n'a
     * pas pu être envoyé à x@y, car ...", "A mensagem não foi entregue para
     * x@y porque ...", "Сообщение не доставлено, так как адрес x@y не
     * найден ...", "由于系统找不到电子邮件地址 x@y，...", and its delay's
     * "您发送给 x@y 的邮件尚未送达。" The address may end at a full-width
     * comma. The words before the address say it failed: "non è stato
     * recapitato a" and "não foi entregue para", not "è stato recapitato
     * a", a delivery's; "wurde nicht an", not a person's "bitte nicht an". */
    { "rcpt-sentence-l10n", "weak", 1, "(?:\\b(?:wurde|konnte|kann|werden) nicht an|\\bno se ha entregado a|\\bnon (?:\\x{00e8}|e') stato recapitato a|\\bn'a pas pu (?:\\x{00ea}tre|etre) (?:envoy|remis|distribu)\\S{0,3} (?:\\x{00e0}|a)|\\bn'est pas parvenu (?:\\x{00e0}|a)|\\bn(?:\\x{00e3}|a)o foi entregue (?:para|a)|找不到电子邮件地址|找不到電子郵件地址|您发送给)[ \\t]*['\"\\x{300C}]?<?([^\\s<>\"'@\\x{FF0C}\\x{3001}\\x{3002}\\x{300C}\\x{300D}]+@[^\\s<>\"'\\x{FF0C}\\x{3001}\\x{3002}\\x{300C}\\x{300D}]+?)>?['\"\\x{300D}]?(?=[\\s,;:!?\\x{FF0C}\\x{3001}\\x{3002}]|\\.(?:\\s|$)|$)", NULL },
    { "rcpt-sentence-l10n-cyr", "weak", 1, "\\bтак как адрес[ \\t]+<?([^\\s<>\"'@]+@[^\\s<>\"']+?)>?(?=[\\s,;:!?]|\\.(?:\\s|$)|$)", NULL },
    /* Japanese: "... メールは x@y に配信されませんでした。" The words
     * before the address alone open many a Japanese sentence ("このメール
     * は x@y から送信されています"): the delivery after it decides. */
    { "rcpt-sentence-l10n-ja", "weak", 1, "メールは[ \\t]*<?([^\\s<>\"'@\\x{FF0C}\\x{3001}\\x{3002}]+@[^\\s<>\"'\\x{FF0C}\\x{3001}\\x{3002}]+?)>?[ \\t]*に配信", NULL },
    /* The same sentence wrapped before the address: the line opens with
     * it and goes on in Gmail's words ("x@y zugestellt, weil", "x@y porque
     * no se ha encontrado", "x@y perché l'indirizzo"). */
    { "rcpt-lead-l10n",   "weak", 1, "^[ \\t]*<?([^\\s<>\"@]+@[^\\s<>\"]+?)>?(?=,?[ \\t]+(?:zugestellt, weil|porque no se ha encontrado|perch\\x{00e9} l'indirizzo|car l'adresse|porque o (?:endere|dom\\x{00ed}nio))\\b)", NULL },
    /* A bulleted list of recipients. */
    { "rcpt-bullet",      "strong", 1, "^\\s*(?:[*\\-\\x{2022}\\x{30FB}]|--|\\d{1,3}[.)])\\s*<?([^\\s<>()@\"]+@[^\\s<>()@\"]+?)>?[ \\t]*$", NULL },
    /* The same with the reason after it: " - x@y : utilisateur inconnu",
     * "・x@y （理由）", "2. x@y (552 5.2.2 Quota exceeded)". */
    { "rcpt-bullet-reason", "strong", 1, "^\\s*(?:[*\\-\\x{2022}\\x{30FB}]|\\d{1,3}[.)])\\s*<?([^\\s<>()@\"（]+@[^\\s<>()@\"（]+?)>?\\s*(?=:\\s|[\\[(\\x{FF08}]|[-\\x{2013}\\x{2014}]\\s)", NULL },
    /* A row of a text table: the address, then two spaces or more and the
     * next column ("x@y          Failed     550 5.1.1 user unknown"). */
    { "rcpt-table-row",   "weak", 1, "^[ \\t]*<?([^\\s<>()@\"]+@[a-z0-9][^\\s<>()@\"]*?\\.[a-z]{2,})>?(?=(?:[ ]{2,}|\\t+)\\S)", NULL },
    /* "...recipients returned permanent errors: x@y." and "...: <x@y>" */
    { "rcpt-list-colon",  "weak", 1, "(?:recipients?|address(?:es)?)(?: [a-z()]+){0,5}:\\s*<?([^\\s<>\"@]+@[^\\s<>\"]+?)>?(?:[\\s,;]|\\.?$|\\. )", NULL },
    /* ...but not a sender's label ("Original Sender:    <x@y>", MailMarshal's
     * section of additional information under the recipients). */
    { "rcpt-colon-angle-end", "weak", 1, ":(?<!sender:)\\s*<([^\\s<>@]+@[^\\s<>]+)>\\s*$", NULL },
    /* Japanese and Chinese letters: "宛先：＜user@example.jp＞" or
     * "宛先：「user@example.jp」", a label, a full-width colon and the
     * address in full-width brackets, on its own line. */
    { "rcpt-cjk-label",   "strong", 1, "^\\s*(?:宛先|送信先|あて先|受信者|收件人|收件者)\\s*[：:]?\\s*[＜「<]?([^\\s<>＜＞「」@]+@[^\\s<>＜＞「」]+?)[＞」>]?\\s*$", NULL },
    /* An address alone on its line. */
    /* "Duplicated Message-ID in <user@example.com>." (fml) */
    { "rcpt-angle-period-end", "weak", 1, "\\sin <([^\\s<>@]+@[^\\s<>]+)>\\.\\s*$", NULL },
    /* The same with the name it was given with, as Sendmail lists it under
     * "permanent fatal errors" ("Rosa Lima <x@y>", "\"Ivo Horvat\" <x@y>"). */
    { "rcpt-name-alone",  "strong", 1, "^(?:\"[^\"\\n]{1,64}\"|[^\\s\\d.<>()@\"\\[:,;][^<>()@\"\\[:,;\\n]{0,63}?)[ \\t]+<([^\\s<>()@\"]+@[a-z0-9][^\\s<>()@\"]*?\\.[a-z]{2,})>[ \\t]*$", NULL },
    { "rcpt-alone",       "strong", 1, "^<?([^\\s<>()@\"]+@[a-z0-9][^\\s<>()@\"]*?\\.[a-z]{2,})>?:?[ \\t\\x{00A0}\\x{200B}\\x{FEFF}]*$", NULL },
};

/* Recipient lines of the last resort, for an error text in which no line
 * of table_recipient's shapes names anyone: inside a line they would also
 * take the words of recipients already found. */
static const BounceRule table_recipient_last[] = {
    /* A refusal quoting the address it refused: "Response 550 5.1.1
     * <x@y>: Invalid recipient" (a notice's table cell, a sentence). */
    { "rcpt-after-code",  "weak", 1, "(?<![\\d.])[45]\\d\\d[ -](?:#?[45]\\.[0-7]\\.\\d{1,3}\\s+)?<([^\\s<>@]+@[^\\s<>]+)>(?=:|\\.\\.\\.|\\s)", NULL },
};

/* Diagnostic wording -> reason, tried in order (more specific first). */
static const BounceRule table_reason[] = {
    /* Sender authentication: SPF/DKIM/DMARC failures. */
    { "auth-dmarc",   "authfailure", 0, "dmarc (?:policy|verification|check|authentication)|rejected due to dmarc|(?:violates|fails?|failed|unauthenticated|not pass) (?:the )?dmarc|dmarc.{0,30}(?:reject|fail)|5\\.7\\.26|5\\.7\\.509", NULL },
    { "auth-spf",     "authfailure", 0, "spf (?:check|validation|record|authentication)? ?(?:fail|softfail|hardfail|error)|(?:fails?|failed|violat\\w*) (?:the )?spf|sender policy framework|bad spf records|spf\\.pobox\\.com|is not allowed to send (?:mail )?from .{0,80}spf|spf\\) domain authentication fail|5\\.7\\.23|authentication (?:check )?(?:failed|failure) (?:for|due)|sender (?:domain )?authentication fail|not authenticated .{0,40}(?:dkim|spf)|dkim (?:signature )?(?:fail|invalid|verification fail)|no (?:valid|passing) dkim|unauthenticated email from|is not authenticated|requires? (?:\\w+ )?authentication of the sending", NULL },
    { "auth-words", "authfailure", 0, "doesn't meet the required authentication level|please inspect your spf settings|spf check: fail|5322\\.from address doesn't meet the authentication requirements|failed dkim verification|dkim signature (?:does not|did not|doesn't|didn't) verify|does not designate \\S+ as permitted sender|spf: \\S+ is not allowed to send|(?:spf|dkim) authentication (?:didn't|did not) pass|isn't aligned with either the authenticated (?:spf|dkim)|is not allowed to send mail\\. [^\\n]{0,80}?_401\\b", NULL },
    /* More of the same, as other filters word it: a domain with no SPF record at all (it
     * authorises no host), libspf2's "is not a designated mailserver", Sender ID's "(PRA) Not
     * Permitted", "Sender is unauthenticated" (not only Yahoo's), DMARC and DKIM ADSP. With
     * 5.7.1 beside them they were securityerror, with "sender rejected" rejected. */
    { "auth-more", "authfailure", 0, "\\bno spf record|spf record (?:not found|missing)|rejected by spf\\b|is not a designated mailserver|sender id \\(pra\\)|\\bpra is not permitted|sender id check fail|sender is unauthenticated|dmarc unauthenticated|dkim policy \\(adsp\\)|\\bspf polic(?:y|ies)\\b|\\bspf unauthori[sz]ed\\b|\\[spf\\][^\\n]{0,80}?not allowed to send", NULL },
    /* The same in other languages ("SPF-Prüfung fehlgeschlagen", "Échec de la vérification
     * SPF", "no superó la verificación DMARC", "verifica DKIM fallita", ...): every branch
     * names SPF, DKIM or DMARC, so the rule runs only where one of them is. */
    { "auth-l10n", "authfailure", 0, "(?:spf|dkim|dmarc)[^.\\n]{0,30}?(?:fehlgeschlagen|nicht bestanden|ungültig|échoué|échec|invalide|fallid[oa]|falló|fallit[oa]|non superat[oa]|falhou|falhad[oa]|mislukt|niet geslaagd|nie powiod|niepowodzenie|nezdařil|misslyckades|başarısız|失敗|失败|실패)|(?:échec|erreur|no superó|no pasó|fallo|error en|falha|mancato superamento|niepowodzenie)[^.\\n]{0,30}?(?:spf|dkim|dmarc)", NULL },
    { "auth-l10n-cyr", "authfailure", 0, "(?:spf|dkim|dmarc)[^.\\n]{0,30}?(?:не пройден|не прош|ошибк|отклон)|(?:проверк[аиу]|политик[аиой]{0,2})[^.\\n]{0,20}?(?:spf|dkim|dmarc)", NULL },
    /* No reverse DNS for the connecting host. */
    { "ptr-missing",  "requireptr", 0, "(?:no|missing|without a?|bad|invalid) (?:dns )?ptr|unverif(?:y|i)able sending ips|mismatches client ip|ptr record|reverse (?:dns|lookup|dns lookup|dns entry)|rdns|cannot find your hostname|can't find your hostname|host name (?:lookup|look-?up) failed|ip name lookup failed|not resolve your (?:address|host)|could not resolve|fcrdns|5\\.7\\.25|client host rejected: cannot find your|(?:no|missing) reverse|hostname lookup|name lookup failed for", NULL },
    /* "Reverse-DNS" hyphenated, as German and some English filters write it ("Keine
     * Reverse-DNS-Auflösung", "Reverse-DNS check failed"). A "DNS lookup failure" is a
     * reverse lookup only when what was looked up is an IP address (a dotted quad, or
     * IPv6 with its colons): of a domain name it is the recipient's domain
     * (hostunknown, or networkerror when temporary), even one spelt in hexadecimal
     * letters ("cafe.de"). */
    { "ptr-words", "requireptr", 0, "\\breverse-dns\\b|the corresponding forward dns entry does not point to the sending ip|does not resolve to a (?:host ?name|domain)|unresolvable relay host name|generic dns ptr-records|dns lookup failure: \\[?(?:\\d{1,3}(?:\\.\\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]+)\\]?[ ,;-]+try again later", NULL },
    /* Sender reputation. */
    { "reputation",   "badreputation", 0, "poor reputation|bad reputation|low reputation|sender reputation|(?:ip|domain) reputation|reputation (?:score|is|of)|4\\.7\\.650|temporarily rate limited due to ip reputation|temporarily deferred due to unexpected volume or user complaints|a poor email reputation score|the sending mta's poor reputation|none/bad reputation", NULL },
    /* The message breaks RFC 5322. */
    { "rfc5322",      "notcompliantrfc", 0, "rfc ?5322|rfc ?2822|rfc ?822 (?:compliant|violation)|not (?:rfc|standards?)[- ]compliant|non[- ]compliant (?:with|to) rfc|multiple (?:from|sender|subject|date|message-id|to) (?:headers|fields)|duplicate (?:header|headers)|missing (?:required )?(?:header|date|from|message-id)|(?:header|headers) (?:are )?(?:malformed|invalid)|messages with multiple addresses in from|multiple addresses in from: header", NULL },
    /* A header field the message may hold once named twice ("duplicate Date header"). */
    { "rfc5322-words", "notcompliantrfc", 0, "\\?p=rfcmessagenoncompliant|duplicate (?:date|from|sender|reply-to|to|cc|bcc|subject|message-id|in-reply-to|references) header", NULL },
    { "speeding",     "speeding", 0, "sending rate(?<!throttling failure: maximum sending rate)|too many recipients this hour|receiving mail at a rate|rate that prevents|too many messages|exceeded (?:the )?(?:maximum|max) (?:number of )?(?:messages|emails|sends)(?! per hour)|throttl(?!ing failure: maximum sending rate)|too fast|slow down|too much mail from|try again slower|temporarily rate limited", NULL },
    { "speeding-words", "speeding", 0, "exceeded allowable number of posts without solving a captcha|daily (?:user |message )?sending (?:quota|limit) exceeded|rate ?limit exceeded for sender|rate limit exceeded(?<!connection rate limit exceeded)|daily limit for (?:message )?recipients", NULL },
    /* Not a sender's quota: "Daily user sending quota exceeded" is speeding's. */
    { "mailboxfull",  "mailboxfull", 0, "mailbox (?:is )?full|full mailbox|(?:over|exceed\\w*|reached) (?:the |their |its |his |her |disk |storage |mailbox |allowed )*quota|quota(?<!sending quota) (?:exceeded|violation|full)|mailbox (?:size )?(?:limit )?exceeded|not enough (?:storage )?space|(?:storage|disk) (?:space|quota) (?:limit|exceeded|full)|mailfolder is full|mail ?box (?:has )?exceeded|user has too many messages|too much mail data|mailbox has exceeded|exceeded storage allocation|is over (?:disk )?quota|boite du destinataire pleine|space has been used up|mailbox is over|disk full|boîte .{0,20}pleine|volle mailbox|postfach voll|容量", NULL },
    { "mailboxfull-more", "mailboxfull", 0, "account disabled temporarly for exceeding receiving limits|does not have enough space|mail file size exceeds the maximum size allowed for mail delivery|mailbox quota usage exceeded|maildir delivery failed: (?:user|domain)disk quota|mailbox would exceed maximum allowed storage|account is exceeding their quota|exceeding its mailbox quota|over the allowed quota", NULL },
    { "mailboxfull-words", "mailboxfull", 0, "mailbox exceeds allowed size|no space left on device|not sufficient disk space|inbox is full|exceeded (?:the |their |its )?mailbox (?:size )?limit|insufficient space in (?:the )?(?:user.?s )?mailbox|ящик переполнен|(?:reached|exceeded) (?:its |their |the |his |her |the mailbox's )?storage (?:limit|capacity)|\\binbox full\\b|exhausted (?:the |its |their |his |her )?(?:allowed |available )?(?:storage|disk|mailbox) (?:space|quota)", NULL },
    /* mail.ru's "552 error: quota exceed" */
    { "mailboxfull-phrases", "mailboxfull", 0, "diskspace quota|error: quota exceed\\b|(?<!sending )\\bquota exceed the\\b", NULL },
    /* A full mailbox in other languages. */
    { "mailboxfull-l10n", "mailboxfull", 0, "postfach (?:ist |des empfängers ist )?(?:voll|überfüllt)|speicherplatz (?:ist )?(?:voll|erschöpft)|boîte (?:aux lettres )?(?:du destinataire )?(?:est )?pleine|quota (?:est )?dépassé|buzón (?:del destinatario )?(?:está )?lleno|casella (?:di posta )?(?:è )?piena|caixa (?:postal |de correio )?(?:está )?cheia|mailbox (?:is )?vol\\b|brievenbus (?:is )?vol\\b|skrzynka (?:odbiorcy )?(?:jest )?pełna|schránka (?:příjemce )?(?:je )?plná|posta kutusu dolu|kota aşıldı|brevlådan är full|メールボックスが(?:一杯|いっぱい|満杯)|容量を超え|(?:邮箱|信箱|郵箱)(?:已满|空间不足|容量不足)|메일함 용량|메일함이 가득", NULL },
    { "mailboxfull-l10n-more", "mailboxfull", 0, "(?:skrzynka|konto)(?: pocztowa)?(?: odbiorcy)? (?:jest )?przepełnion[aey]|(?:mailbox|postvak|brievenbus|inbox)(?: van de ontvanger)? zit vol\\b|(?:mailbox|posteingang|e-mail-postfach)(?: des empfängers)? (?:ist )?(?:voll|überfüllt)\\b|brevlåda(?:n)? (?:är )?full\\b|postilaatikko (?:on )?(?:täynnä|täysi)|speicher(?:volumen|platz|kontingent) (?:ist )?(?:überschritten|ueberschritten)", NULL },
    { "mailboxfull-l10n-cyr", "mailboxfull", 0, "ящик (?:получателя )?переполнен", NULL },
    /* Too many messages, too fast, in other languages; after the full mailbox's words, as a
     * full mailbox's notice may say "too many messages" too ("zu viele Nachrichten im
     * Postfach, das Postfach ist voll"). */
    { "speeding-l10n", "speeding", 0, "zu viele (?:nachrichten|e-mails|mails)|(?:sendelimit|versandlimit)[^.\\n]{0,20}?(?:überschritten|erreicht)|trop de (?:messages|mails|courriels)|limite d'envoi (?:atteinte|dépassée)|demasiados (?:mensajes|correos)|límite de envío (?:excedido|alcanzado|superado)|troppi messaggi|limite di invio (?:superato|raggiunto)|(?:muitas|demasiadas) mensagens|limite de envio (?:excedido|atingido|ultrapassado)|te veel berichten|(?:zbyt|za) (?:wiele|dużo) wiadomości|příliš mnoho zpráv|för många meddelanden|çok fazla (?:ileti|mesaj|e-posta)|送信数(?:が|の)?上限|短時間に大量|(?:发送|发信)频率过(?:高|快)|發送頻率過(?:高|快)|발송(?:량|한도)(?:이|가)? 초과|너무 많은 (?:메일|메시지)", NULL },
    { "speeding-l10n-cyr", "speeding", 0, "слишком много (?:сообщений|писем)|превышен (?:лимит|предел) (?:отправки|писем)", NULL },
    { "mesgtoobig",   "mesgtoobig", 0, "message (?:size|length|file) (?:exceeds|too (?:big|large))|message too big|(?:too|very) large message|size (?:limit|exceeds(?<!header size exceeds))|exceeds? (?:the )?(?:maximum|max|fixed) (?:message )?size|max(?:imum)? message size|message is too large|mail size|taille limite|email is too large|message file too big|line limit exceeded|exceeded maximum inbound message size", NULL },
    { "mesgtoobig-more", "mesgtoobig", 0, "message too large for this |message length exceeds administrative limit|message size exceeds (?:fixed limit|maximum value)|max message size exceeded", NULL },
    { "mesgtoobig-words", "mesgtoobig", 0, "exceeded the maximum incoming message size|larger than the maximum (?:allowed )?size|(?:mail|message) data too large", NULL },
    /* A message too big, in other languages ("Die Nachricht ist zu groß", "Le message est
     * trop volumineux", "メールサイズが大きすぎます", ...). */
    { "mesgtoobig-l10n", "mesgtoobig", 0, "nachricht (?:ist )?zu groß|(?:e-mail|mail) (?:ist )?zu groß|(?:überschreitet|übersteigt) die (?:maximal )?(?:zulässige |erlaubte |maximale )?(?:nachrichtengröße|größe)\\b|message (?:est )?trop (?:volumineux|gros)|taille (?:du message |maximale )?[^.\\n]{0,20}?(?:dépasse|excède)|dépasse la taille (?:maximale|autorisée|limite)|mensaje (?:es )?demasiado grande|(?:excede|supera) el tamaño (?:máximo|permitido)|tamaño (?:del mensaje )?(?:excede|supera)|messaggio (?:è )?troppo grande|(?:supera|eccede) (?:la )?dimensione massima|dimensione (?:del messaggio )?(?:supera|eccede)|mensagem (?:é )?(?:muito|demasiado) grande|(?:excede|ultrapassa) o tamanho (?:máximo|permitido)|tamanho (?:da mensagem )?(?:excede|ultrapassa)|bericht is te groot|overschrijdt de maximale (?:berichtgrootte|grootte)|berichtgrootte (?:overschrijdt|is groter)|wiadomość (?:jest )?(?:za|zbyt) duża|przekracza (?:maksymalny|dopuszczalny) rozmiar|rozmiar wiadomości przekracza|zpráva je příliš velká|překračuje (?:maximální|povolenou) velikost|velikost zprávy překračuje|meddelandet är för stort|överskrider (?:den )?(?:maximala|tillåtna) (?:storleken|meddelandestorleken)|(?:leti|mesaj|e-posta)(?:niz)? çok büyük|(?:maksimum|izin verilen) (?:ileti |mesaj )?boyutu(?:nu)? aş|(?:メール|メッセージ)(?:の)?サイズ(?:が|は)(?:大きすぎ|上限を超え|制限を超え)|サイズ制限を超え|(?:邮件|郵件|信件)(?:大小)?(?:过大|太大|過大|超过(?:了)?(?:系统|最大)?限制|超過(?:系統|最大)?限制)|(?:邮件大小超过|郵件大小超過)|(?:메시지|메일) 크기가 (?:너무 큽|제한을 초과|허용)", NULL },
    { "mesgtoobig-l10n-cyr", "mesgtoobig", 0, "размер (?:письма|сообщения)[^.\\n]{0,20}?превыша|(?:письмо|сообщение) слишком (?:большое|велико)", NULL },
    { "exceedlimit",  "exceedlimit", 0, "message header size exceeds limit|message too large|exceeds? (?:the )?(?:administrative|local) limit", NULL },
    /* A message over the recipient's own limit, in other languages. */
    { "exceedlimit-l10n", "exceedlimit", 0, "(?:größenlimit|limit|größenbeschränkung) des empfängers|für den empfänger zu groß|limite (?:fixée |définie )?(?:par le|du) destinataire|límite (?:de tamaño )?del destinatario|limite (?:del|impostato dal) destinatario|limite (?:do|definido pelo) destinatário", NULL },
    { "suspend",      "suspend", 0, "(?<!sender )(?<!sender's )(?:account|mailbox|user|address) (?:is |has been )?(?:currently |temporarily )?(?:suspended|disabled|deactivated|inactive|locked|frozen|closed|expired|discontinued|blocked by administrator)|(?:suspended|disabled|deactivated|inactive|expired) (?:account|mailbox|user)|is a deactivated mailbox|temporarily inactive|invalid/inactive user|recipient suspend|boite du destinataire archivee|temporary locked|not active|no longer active|account has been (?:suspended|disabled)|mailbox unavailable or access denied|this mailbox is disabled|has been suspended", NULL },
    { "suspend-more", "suspend", 0, " is currently suspended|email account that you tried to reach is disabled|mailbox currently suspended|mailbox is frozen|recipient rejected: temporarily inactive|this account has been disabled or discontinued|user suspended|vdelivermail: account is locked email bounced", NULL },
    { "suspend-words", "suspend", 0, "is unavailable: user is terminated|the email account that you tried to reach is inactive|user or domain is disabled|(?:account|mailbox) (?:is |has been )?(?:blocked|locked|disabled) (?:because of|due to|for) inactivity|mailaddress is administrativ(?:e)?ly disabled", NULL },
    /* La Poste's "Archived recipient" (LPN007_420) and "This address no
     * longer accepts mail": the account is closed or archived, not unknown. */
    { "suspend-phrases", "suspend", 0, "archived recipient|this address no longer accepts mail", NULL },
    /* A suspended or disabled account, in other languages ("Das Konto des Empfängers ist
     * gesperrt", "Le compte du destinataire est désactivé", "利用停止中", ...); not the
     * sender's ("Absenderkonto gesperrt"). */
    { "suspend-l10n", "suspend", 0, "(?:konto|postfach|benutzerkonto|empfängerkonto)(?<!absenderkonto)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,40}?(?:gesperrt|deaktiviert|stillgelegt)|(?:compte|boîte aux lettres|boite aux lettres)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:désactivée?|desactivee?|suspendue?|inactive?|inactif|fermée?)|(?:cuenta|buzón|buzon)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:desactivad[oa]|suspendid[oa]|inactiv[oa]|deshabilitad[oa]|bloquead[oa])|(?:account|casella|utenza)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:disattivat[oa]|sospes[oa]|disabilitat[oa])|(?:usuário|utilizador) (?:inativo|desativado|suspenso)|(?:conta|caixa postal|caixa de correio)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:desativad[oa]|desactivad[oa]|suspens[oa]|inativ[oa]|desabilitad[oa]|bloquead[oa])|(?:account|mailbox|postvak)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:geblokkeerd|gedeactiveerd|uitgeschakeld|opgeschort)|(?:konto|skrzynka)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:zablokowan[aeyo]|zawieszon[aeyo]|wyłączon[aeyo]|nieaktywn[aeyo]|dezaktywowan[aeyo])|(?:účet|schránka)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:zablokován|pozastaven|deaktivován|zrušen)|(?:konto|kontot|brevlådan)(?![^.\\n]{0,20}?(?:absender|expéditeur|expediteur|remitente|remetente|mittente|afzender|nadawc|odesílatel|avsändar))[^.\\n]{0,30}?(?:spärrat|spärrad|avstängt|avstängd|inaktiverat|inaktiverad)|(?:hesab[ıi]|hesap|posta kutusu)[^.\\n]{0,30}?(?:askıya alın|devre dışı|dondurul|kapatıl)|利用停止|(?:アカウント|メールボックス)(?:が|は)[^。\\n]{0,10}?(?:停止|無効|凍結|ロック)(?:に)?され|(?:帐户|账户|帐号|账号|帳戶|帳號|邮箱|信箱|郵箱)[^。\\n]{0,10}?(?:冻结|凍結|停用|禁用|锁定|鎖定)|계정(?:이|은)? [^.\\n]{0,10}?(?:정지|비활성화|잠겨|잠금|휴면)|휴면 계정|사용 중지된 계정", NULL },
    { "suspend-l10n-more", "suspend", 0, "\\butente (?:sospeso|disattivato|disabilitato|bloccato)\\b", NULL },
    /* Argentine and other Spanish servers: "El usuario esta en estado:
     * inactivo", "Esta casilla ha expirado por falta de uso" (a mailbox
     * closed for disuse; "casilla" is a mailbox there). */
    { "suspend-l10n-es", "suspend", 0, "\\busuario (?:esta|está) en estado:? inactivo\\b|\\bcasilla (?:de correo )?(?:ha expirado|(?:esta |está )?(?:inactiva|deshabilitada|suspendida|bloqueada|desactivada)\\b)", NULL },
    { "suspend-l10n-cyr", "suspend", 0, "(?:аккаунт|ящик|учетная запись|учётная запись)(?: получателя| адресата)?[^.\\n]{0,20}?(?:заблокирован|отключ[её]н|деактивирован|неактивен|заморожен)", NULL },
    /* Exchange 2003's text for an unknown address guesses "Perhaps the recipient moved to a
     * different e-mail organization": no forwarding address, so no move. */
    { "hasmoved",     "hasmoved", 0, "has been replaced by|has moved|no longer (?:at|with) this|address (?:has )?changed|user has moved|moved to(?! a different e-?mail organi[sz]ation)|user not local; please try", NULL },
    /* The same in other languages: the address changed, a new one named. */
    { "hasmoved-l10n", "hasmoved", 0, "ist umgezogen|neue (?:e-?mail-)?adresse (?:lautet|ist)|a changé d'adresse|(?:sa |la )?nouvelle adresse est|ha cambiado de (?:dirección|direccion)|(?:su )?nueva (?:dirección|direccion) es|ha cambiato indirizzo|(?:il )?nuovo indirizzo è|mudou de endereço|(?:o )?novo endereço é|is verhuisd|(?:het )?nieuwe adres is|zmienił(?:a)? adres|nowy adres to|změnil(?:a)? adresu|nová adresa je|adresi değişti|yeni adresi|har bytt adress|(?:den )?nya adressen är|新しいアドレスは|アドレスが変更され|新地址(?:为|是)|地址已更改|새 주소는|주소가 변경", NULL },
    { "hasmoved-l10n-cyr", "hasmoved", 0, "сменил(?:а)? адрес|новый адрес:", NULL },
    /* qmail's "that domain or user isn't in my list of allowed rcpthosts"
     * names the user as well: userunknown's at RCPT TO. */
    { "norelaying",   "norelaying", 0, "relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|unable to relay(?! message back to mta)|not (?:permitted|allowed) to relay|relaying (?:mail )?to .{0,60}(?:denied|not allowed|prohibited)|insecure mail relay|as a relay|not an open relay|we don't handle mail for|not local host|this system is not configured to relay|relay not permitted|isn't in my list of allowed rcpthosts(?<!domain or user isn't in my list of allowed rcpthosts)|email address is not verified\\. the following identities failed|requires authentication when attempting to send to a non-local|not a gateway", NULL },
    { "norelaying-more", "norelaying", 0, "relaying mail to |allowed rcpthost(?<!or user isn't in my list of allowed rcpthost)|mail server requires authentication when attempting to send to a non-local", NULL },
    { "norelaying-words", "norelaying", 0, "\\bno relaying\\b|specified domain is not allowed|we do not relay|relaying (?:is )?prohibited|relay prohibition|\\brelay(?:ing)? is (?:denied|not (?:permitted|allowed))\\b", NULL },
    /* Amazon SES: our sending identity is not verified there, so it will not send for us. */
    { "norelaying-ses", "norelaying", 0, "message rejected: email address is not verified", NULL },
    /* Relaying refused, in other languages. */
    { "norelaying-l10n", "norelaying", 0, "relay(?:ing)?[^.\\n]{0,15}?(?:nicht (?:erlaubt|gestattet|zulässig)|verweigert|non autorisé|refusé|interdit|no permitido|denegado|non consentito|non permesso|non autorizzato|não permitido|negado|niet toegestaan|niedozwolony|nepovolen|není povolen|inte tillåtet|izin verilmiyor|reddedildi)|relais (?:non autorisé|refusé|interdit)|(?:reenvío|retransmisión) (?:no permitid[oa]|denegad[oa])|inoltro non (?:consentito|permesso|autorizzato)|retransmissão (?:não permitida|negada)|doorsturen (?:is )?niet toegestaan|przekazywanie (?:poczty )?(?:jest )?niedozwolone|přeposílání (?:není povoleno|nepovoleno)|vidarebefordran (?:är )?inte tillåten|中継(?:は|を)?(?:許可されていません|拒否|できません)|リレー(?:は|を)?(?:許可されていません|拒否)|不允许(?:中继|转发)|不允許(?:中繼|轉送|轉發)|(?:中继|转发)被拒绝|릴레이(?:가|는)? (?:거부|허용되지 않)|중계(?:가|는)? (?:거부|허용되지 않)", NULL },
    { "norelaying-l10n-cyr", "norelaying", 0, "ретрансляци[яю] (?:запрещ|не разреш)|релей (?:запрещ|не разреш)|пересылка (?:запрещена|не разрешена)", NULL },
    /* A domain that does not exist, in other languages: before the
     * user-unknown words below, which say "does not exist" too. */
    { "hostunknown-l10n", "hostunknown", 0, "(?:dominio|domínio|domein|domaine|domain|domäne|domaene|empfängerdomäne|domena|doména|alan adı|domänen|domän|ドメイン|域名|도메인)[^.\\n]{0,40}?(?:no existe|n'existe pas|existiert nicht|nicht gefunden|unbekannt|non esiste|não existe|bestaat niet|nie istnieje|neexistuje|mevcut değil|finns inte|存在しません|不存在|존재하지 않)", NULL },
    { "hostunknown-l10n-cyr", "hostunknown", 0, "домен[^.\\n]{0,40}?не существует", NULL },
    { "userunknown",  "userunknown", 0, "user(?:name)? (?:unknown|not found|does not exist|doesn't exist|is unknown|not known)|unknown (?:user|recipient|mailbox|local[- ]?part|e-?mail address|address(?! error))|no such (?:user|mailbox|recipient|address|person|account)|(?:mailbox|recipient|address(?<!mentioned in email address)|account|e-?mail address(?<!mentioned in email address)|addressee) (?:(?!domain )\\S+ )?(?:does not exist|doesn't exist|not found|not exist|unknown(?! domain)|is unknown|is not valid|invalid|unavailable|not available|is unavailable|not present|was not found|could not be found(?! in (?:the )?domain name))|(?:invalid|bad|non-?existent|nonexistent|inexistent|unknown) (?:recipient|mailbox|address|user|account)\\b(?! error|, error_code)|recipient address rejected(?:\\.|: access denied)|recipient (?:address )?rejected: (?:invalid|unknown(?! domain)|user unknown|access denied|undeliverable|user \\S+ does not exist)|not (?:a )?(?:valid|known) (?:user|recipient|mailbox|address)|is not a valid mailbox|no mailbox (?:here|by that name|found)|there is no one at this address|no account by that name|mailbox not present|user (?:\\S+ )?(?:was not found|does not exist)|requested action not taken: mailbox unavailable|mailbox unavailable|resolver\\.adr\\.recipnotfound|recipnotfound|sorry, no mailbox|destination addresses? (?:were|was) unknown|email account that you tried to reach does not exist|address no longer accepts mail|isn't in my list of allowed rcpthosts|no valid recipients(?! from )|not our customer|user lookup failed|this user doesn't have|doesn't have a .{0,20} account|user not exist|ディレクトリのリストにありません|utente inesistente|存在しない|宛先不明|unknown local part|@[^\\s<>@]+>?:? (?:not found|does not exist)\\s*$|\\bbadrcptto\\b|badrecipientto|validrcptto|rcpthosts", NULL },
    { "userunknown-more", "userunknown", 0, "5\\.1\\.0 address rejected\\.|can't accept user|destination server rejected recipients|is not an active address at this host|nessun utente simile in questo indirizzo|no mail box available for this user|not a local address|recipient is not local|recipient refuses to accept your mail|resolver\\.adr\\.recipient ?notfound|sorry, your envelope recipient has been denied|the following recipients was undeliverable|the user's email name is not found|this email address is wrong or no longer valid|this spectator does not exist|user missing home directory|utilisateur inconnu|vdeliver: invalid or unknown virtual user|invalid mailbox path|mailbox \\S+@\\S+ unavailable|user not on (?:the )?post office", NULL },
    { "userunknown-words", "userunknown", 0, "mailbox unavaiable|not email addresses|recipient address rejected: userunknown|recipient is not accepted|\\brecipient not ok\\b|weil die adresse nicht gefunden wurde|non[- ]existent user|unknown e-?mail address|usuario (?:desconocido|inexistente)|gebruiker onbekend|onbekende gebruiker|bad destination mailbox address|(?:address|mailbox|account|recipient) (?:\\S+ )?no longer exists|e-?mail address is marked as invalid", NULL },
    /* Sisimai's wordings of an unknown address that name it in parentheses
     * ("RCPT (x@y) doesn't exist", "User (x@y) unknown") and Spanish ones
     * without a noun before the verb. "<x@y> not found" counts only as the
     * whole reply (before Postfix's "(in reply to ...)" or a "(#5.1.1)"):
     * followed by more words ("... not found in the list of allowed
     * senders", "... not found, try again later") the address may be our
     * sender's, or the failure temporary. A mailbox "inactive" or a user
     * "not active" exists: suspend's. */
    { "userunknown-phrases", "userunknown", 0, "@[^\\s<>@]+>:? (?:not found|does not exist)(?: here)?[ \\t]*[.!]?[ \\t]*(?:$|\\((?:in reply to |#))|rcpt \\([^\\s()@]+@[^\\s()]+\\) does(?:n't| not) exist|user \\([^\\s()@]+@[^\\s()]+\\) unknown|\\bno \\S+ in name directory|no existe (?:dicha persona|ese usuario)", NULL },
    /* The same in other languages, naming the user, the mailbox or the
     * recipient, not the recipient's domain ("el dominio del destinatario
     * no existe" is hostunknown-l10n's), not the sender
     * ("Absenderadresse unbekannt", "el remitente no existe"), not an
     * "unknown error" ("Unbekannter Fehler"). */
    { "userunknown-l10n", "userunknown", 0, "(?:benutzer|empfänger|empfaenger|nutzer|postfach|mailbox|konto)(?:name|adresse|konto)?\\s*(?:ist\\s+)?(?:unbekannt|existiert nicht|nicht gefunden)|unbekannte[rns]? (?:benutzer|empfänger|empfaenger|nutzer|empfängeradresse)|(?:utilisateur|destinataire|boîte aux lettres|compte)(?<!domaine du destinataire)[^.\\n]{0,30}?(?:inconnu|n'existe pas|introuvable)|(?:usuario|buzón|buzon|cuenta|destinatario)(?<!dominio del destinatario)(?<!dominio de destinatario)[^.\\n]{0,30}?(?:desconocido|no existe|inexistente)|utente sconosciuto|(?:utente|casella|destinatario)(?<!dominio del destinatario) (?:non esiste|inesistente)|usuário desconhecido|utilizador (?:desconhecido|inexistente)|(?:usuário|destinatário|conta)(?<!domínio do destinatário) (?:não existe|inexistente)|(?:gebruiker|ontvanger|mailbox)(?<!domein van de ontvanger) (?:onbekend|bestaat niet)|nieznany (?:użytkownik|adresat)|nie ma takiego (?:konta|użytkownika|adresata)|(?:użytkownik|adresat|konto) nie istnieje|neznámý (?:uživatel|adresát)|(?:uživatel|schránka|adresát) neexistuje|kullanıcı (?:bulunamadı|mevcut değil)|böyle bir kullanıcı yok|okänd (?:användare|mottagare)|(?:användaren|mottagaren) finns inte|該当するユーザーが(?:見つかりません|存在しません)|メールアドレスは存在しません|(?:收件人|用户|用戶|收件者)不存在|(?:사용자|수신자|계정|받는 사람|메일 ?주소)(?:(?!도메인)[^.\\n]){0,20}?존재하지 않", NULL },
    /* The address said not to exist ("Die E-Mail-Adresse existiert nicht", "Adres odbiorcy
     * nie istnieje", "Het e-mailadres bestaat niet", "Käyttäjää ei ole olemassa", ...): the
     * recipient's or no one's, never the sender's ("Adres nadawcy", "avsändaradressen"). */
    { "userunknown-l10n-addr", "userunknown", 0, "e-?mail-?adresse(?: des empfängers)? (?:existiert nicht|ist (?:uns )?(?:unbekannt|nicht bekannt))|(?:e-?mail)?adres(?: van de ontvanger)? bestaat niet|\\badres(?: e-mail)?(?: odbiorcy)? nie istnieje|\\badresa(?: příjemce)? neexistuje|\\b(?:e-post)?adressen finns inte|(?:käyttäjää|vastaanottajaa|osoitetta) ei (?:ole olemassa|löydy)|tuntematon (?:käyttäjä|vastaanottaja)|\\bindirizzo(?: e-?mail| di posta)?(?: del destinatario)? (?:inesistente|non esiste)|\\butente (?:non esistente|inesistente)|존재하지 않는 (?:아이디|계정|사용자|메일 ?주소|이메일 ?주소)|收件人(?:的)?(?:邮件|邮箱|郵件|郵箱)?地址不存在", NULL },
    { "userunknown-l10n-cyr", "userunknown", 0, "пользовател[ья] не (?:найден|существует)|такого (?:ящика|пользователя|адресата) не существует|нет такого (?:пользователя|ящика|адресата|получателя)|получател[ья] не (?:найден|существует)|(?:почтовый ящик|адресат) не (?:найден|существует)", NULL },
    { "filtered",     "filtered", 0, "(?:is )?only accepting mail from|user reject|rejected due to user rules|refused due to recipient preferences|not accepting any mail|has restricted|blocked by the recipient|this account is protected by|filtered by|recipient (?:is )?(?:not )?(?:accept|allow)\\w* mail from|refuse to receive|resolver\\.rst\\.notauthorized|not authorized to send to|sender(?<!null sender) (?:is )?not (?:allowed|authorized)|you have been blocked by|extended inactivity|bounced address|because (?:of )?(?:the )?recipient's (?:filter|setting)", NULL },
    { "filtered-more", "filtered", 0, "not found recipient account|due to extended inactivity new mail is not currently being accepted|has restricted sms e-mail|because the recipient is only accepting mail from specific email addresses", NULL },
    { "filtered-words", "filtered", 0, "account is protected by|user refuses to receive this mail|has blocked your (?:address|e-?mail address|domain)|mail is rejected by recipients|(?:has )?chosen not to receive (?:messages|mail|e-?mails?) from|does not wish to receive (?:messages|mail|e-?mails?) from|recipient (?:doesn't|does not) want (?:your|this) (?:e-?mail|mail|message)", NULL },
    /* "550 5.2.0 Message Filtered": a filter of the recipient's refused the message. Only
     * the phrase alone (ending a sentence, or before Postfix's "(in reply to ...)"):
     * "Message filtered as spam", "Message filtered: virus found" name their reason,
     * and the spam FAQ's wording after it (spam-more) is a spam filter's. */
    { "filtered-message", "filtered", 0, "message filtered(?:[ \\t]*$|[ \\t]+\\(in reply to |\\.(?! (?:please see the faqs|refer to the troubleshooting)))", NULL },
    /* Not Postfix's "Helo command rejected: Host not found"
     * (reject_unknown_helo_hostname): that host is ours, the name we
     * greeted with, and the refusal blocked. Nor Sendmail's "Name server:
     * .: host not found" on its own: the domain's MX is "." (null MX).
     * Exim's "Unrouteable mail domain" is a routing failure that may pass
     * (networkerror), not a domain known to be gone. "553 x does not exist"
     * only of a domain name: "553 5.7.1 Sender does not exist" is not one. */
    { "hostunknown",  "hostunknown", 0, "host (?:or domain name )?(?:unknown|not found(?!, try again)(?<!helo command rejected: host not found)(?<!name server: \\.: host not found))|host \\S+ not found|unknown (?:host|domain)|domain (?:does not exist|not found|is not reachable|must exist|name not found|unknown)|no such domain|name or service not known|unrout(?:e)?able (?:address|domain)|mail domain mentioned in email address is unknown|recipient domain must exist|dns error: domain name not found|the account or domain may not exist|couldn't find any host named|could not find any host|host not found(?!, try again)(?<!helo command rejected: host not found)(?<!name server: \\.: host not found)|domain .{0,40} (?:does not exist|not exist)|553 (?:[45]\\.\\d{1,3}\\.\\d{1,3} )?[^\\s@.]+\\.[^\\s@]+ does not exist", NULL },
    /* Exchange 2003: "The destination server for this recipient could not
     * be found in Domain Name Service (DNS)" (#5.4.0). */
    { "hostunknown-more", "hostunknown", 0, "host unreachable|recipient address rejected: unknown domain name|illegal host/domain name|no mail servers appear to exists? for the recipients? address|could not be found in (?:the )?domain name (?:service|system)", NULL },
    /* A domain the DNS says does not exist, in a gateway's or a server's
     * own words: Cisco's "Bad destination host 'DNS Hard Error looking
     * up x (MX): NXDomain'", "No MX or A records exist for x", "The
     * recipient's domain could not be found". Before networkerror, whose
     * "dns error" and "nxdomain" these also say. (Apache James's "There
     * are no DNS entries for the hostname" stays networkerror: James
     * retries it as a DNS problem.) */
    { "hostunknown-dns", "hostunknown", 0, "\\bdns hard error\\b|\\bno (?:mx (?:or|and) a(?:aaa)?|a (?:or|and) mx) records? (?:exists?|found)\\b|\\bdomain\\b[^\\n]{0,80}?\\bcould not be found\\b", NULL },
    /* "Message rejected due to" a policy is the policy's refusal, not spam's. */
    { "spam",         "spamdetected", 0, "(?<!sending )\\bspam\\b(?! ips blocked)(?<!virus or spam)|unsolicited|bulk (?:e-?)?mail|identified as bulk|junk mail|content filter|message content rejected|message (?:content )?(?:rejected|refused) (?:as|due to(?! (?:\\S+ )?polic)|because(?! it (?:would create a mail loop|contains (?:a )?(?:virus|malware))))|classified as|suspicious(?!ly like spammer)|looks like|spamassassin|high probability|message was (?:detected|marked|identified) as|scored too high|spam score|rejected for spam|blocked as spam|considered (?:as )?spam|identified as spam|detected as spam|barracuda.{0,30}(?:block|spam)|mail content denied|scored as spam|mail rejete", NULL },
    { "spam-more", "spamdetected", 0, "blacklisted url in message|blocked for abuse\\. see http://att\\.net/blocks|listed in work\\.drbl\\.imedia\\.ru|message filtered\\. (?:please see the faqs section on spam|refer to the troubleshooting page)|message refused by (?:mailmarshal|trustwave seg) spamprofiler|our system has detected that this message is|reject bulk\\.advertising|spamming not allowed|recurrent pattern detection system|you're using a mass mailer|breaches local uribl policy|temporarily blocked by our filter|failed several antispam checks|\\bdt:spm\\b|\\bgtube\\b|mail\\.163\\.com/help/help_spam_16\\.htm|\\burls? in the (?:content|body) of your message|blocking urls?\\b|\\burl\\(s\\)|\\b(?:uribl\\.com|multi\\.surbl\\.org)\\b", NULL },
    { "spam-words", "spamdetected", 0, "(?:spamhaus|dsbl)\\.org/help/help_spam_16\\.htm|rejecting (?:banned|mail) content|spamhaus\\.org/query/dbl", NULL },
    { "spam-score", "spamdetected", 0, "mail score \\([\\d.]+\\) over", NULL },
    /* Spam named in other languages ("Spamverdacht", "correo no deseado", "迷惑メール", ...). */
    { "spam-l10n", "spamdetected", 0, "spamverdacht|spam-verdacht|unerwünschte (?:werbung|e-mail|nachricht)|(?:comme|en tant que) (?:courrier |message |mail )?indésirable|pourriel|(?:correo|mensaje) no deseado|correo basura|posta indesiderata|messaggio indesiderato|lixo eletrônico|lixo electrónico|(?:mensagem|e-mail) não solicitad[oa]|ongewenste (?:e-mail|mail|berichten|bericht)|niechcian(?:ą|a|ej) (?:pocztę|poczta|wiadomość|wiadomości)|nevyžádan(?:á|ou) (?:pošta|poštu|zpráva|zprávu)|skräppost|istenmeyen (?:e-posta|ileti|mesaj)|迷惑メール|垃圾邮件|垃圾郵件|垃圾信件|스팸", NULL },
    { "spam-l10n-cyr", "spamdetected", 0, "спам|нежелательн(?:ое|ая|ой|ую) (?:письмо|почт|рассылк|сообщени)", NULL },
    { "virus",        "virusdetected", 0, "virus|malware|infected|potentially executable attachment|forbidden attachment|prohibited attachment", NULL },
    { "policy",       "policyviolation", 0, "policy (?:violation|reasons|rejection)|(?:rejected|denied|blocked) (?:by|due to|for) (?:\\S+ )?(?:local |security |organizational |organization |content |our )?polic(?:y|ies)|local policy|not accepted for policy reasons|members-only list|non-member|closed mailing list|not subscribed to this group|illegal attachment|organizational settings|organization policy|you have exceeded the (?:the )?allowable number of posts|protocol violation|header error|message given low priority|email not accepted for policy|we do not accept messages containing|content presents a potential", NULL },
    { "policy-more", "policyviolation", 0, "because the recipient is not accepting mail with |header are not accepted|denied by policy|email rejected due to security policies|message rejected due to local policy|rejected by organization policy", NULL },
    { "policy-words", "policyviolation", 0, "because the recipient is not accepting mail with|messages with multiple addresses|(?:attachment|file)(?: type| extension)?s? .{0,40}(?:is |are )?not (?:allowed|permitted|accepted)|banned attachment|not allowed by (?:our |local |the )?polic(?:y|ies)", NULL },
    /* Mimecast's policies, in its words wherever they are quoted (a gateway's
     * own notice names no Mimecast host): "Rejected by header based
     * Anti-Spoofing policy", "Anti-Spoofing policy - Inbound not allowed",
     * "Message bounced due to Content Examination Policy". */
    { "policy-gateway", "policyviolation", 0, "anti-spoofing policy|content examination policy", NULL },
    /* A policy named in other languages ("aufgrund einer Richtlinie", "en raison de la
     * politique de sécurité", "セキュリティポリシーにより", ...). */
    { "policy-l10n", "policyviolation", 0, "(?:aufgrund|wegen) (?:einer |der |von )?(?:\\S+ )?(?:richtlinie|richtlinien|sicherheitsrichtlinien?|unternehmensrichtlinien?)\\b|verstößt gegen (?:die |unsere )?(?:\\S+ )?richtlinien?|richtlinienverstoß|richtlinienverletzung|(?:violation|non-respect|non respect) (?:de|des) (?:la |notre |nos |les )?(?:politique|règles)|en raison (?:de la |d'une |de notre |des )?(?:politique|règles)|politique (?:de sécurité|locale)|(?:violación|incumplimiento) de (?:la |las |nuestra |nuestras )?polític|debido a (?:la |las |una |nuestra |nuestras )?polític|política (?:local|de seguridad)|violazione (?:della |delle |di )?(?:policy|politic|regole)|a causa (?:della |delle |di )?(?:policy|politic)|(?:rifiutat[oa]|respint[oa]|bloccat[oa]) per (?:policy|politic)|policy aziendal|criteri (?:di sicurezza|aziendali)|violação (?:da |das |de )?(?:política|regras)|devido (?:à|às) polític|política de segurança|(?:schending van|in strijd met) (?:het |de |ons )?(?:beleid|regels)|vanwege (?:het |ons )?(?:\\S+ )?beleid|beleidsschending|narusz(?:enie|a) (?:polityki|zasad)|(?:z powodu|zgodnie z) (?:polityk|zasad)|porušení (?:zásad|pravidel|politiky)|(?:z důvodu|kvůli) (?:zásad|pravidel|politik)|bryter mot (?:policyn|policy|reglerna)|på grund av (?:en |vår )?policy|politika ihlali|politikası (?:nedeniyle|gereği)|ポリシー(?:に(?:より|よって|違反|基づ)|違反)|违反[^。\\n]{0,10}?(?:策略|政策)|違反[^。\\n]{0,10}?(?:政策|原則|策略)|(?:安全|发信|反垃圾)策略|정책(?:에 따라|에 의해|에 의거|을 위반|위반)", NULL },
    { "policy-l10n-cyr", "policyviolation", 0, "нарушени[ея] (?:политики|правил)|(?:в соответствии с|согласно) политик|политик(?:ой|и|е) безопасности", NULL },
    { "toomanyconn",  "toomanyconn", 0, "too many (?:connections|concurrent|smtp sessions|errors from your ip|recipients|simultaneous)|connection (?:rate )?limit|maximum connection limit|exceeds per-domain connection limit|max emails per hour|daily message quota exceeded|maximum sending rate exceeded|trop de connexions|numerous attempts to deliver|maximum (?:number of )?connections exceeded", NULL },
    { "toomanyconn-words", "toomanyconn", 0, "connection count limit|too many (?:open )?sessions\\b", NULL },
    /* Too many connections, in other languages. */
    { "toomanyconn-l10n", "toomanyconn", 0, "zu viele (?:gleichzeitige |parallele )?verbindungen|demasiadas conexiones|troppe connessioni|(?:muitas|demasiadas) (?:conexões|ligações)|te veel (?:gelijktijdige )?verbindingen|(?:zbyt|za) (?:wiele|dużo) (?:jednoczesnych )?połączeń|příliš mnoho (?:současných )?(?:připojení|spojení)|för många (?:samtidiga )?anslutningar|çok fazla (?:eşzamanlı )?bağlantı|同時接続数|接続数(?:が|の)?(?:上限|制限)|连接数(?:过多|超过|超限)|連線數過多|연결이 너무 많|동시 접속(?:이|수)", NULL },
    { "toomanyconn-l10n-cyr", "toomanyconn", 0, "слишком много (?:одновременных )?(?:соединений|подключений)", NULL },
    { "rejected",     "rejected", 0, "sender (?:address |domain )?(?:rejected|denied|blocked|blacklisted|verify failed|not pre-approved|is spammer|is in my black list)|sender domain (?:is empty|must exist|not found|does not exist)|(?:invalid|bad|unroutable|unknown|bogus|unverified) sender(?! ip)|domain of sender address|mail from (?:not owned|rejected)|envelope (?:sender|from) (?:rejected|denied|invalid)|empty envelope senders|null sender|returned mail not accepted|administrative prohibition|access denied \\((?:in reply to mail from|sender blacklisted)|batv|backscatter|not a registered gateway user|this server does not accept mail from|no third-party dsns|fully qualified email address required|sender email address rejected|emetteur invalide|connections not accepted from servers without a valid sender|from: domain is invalid|invalid domain, see|mx records for|rule imposed mailbox access for|you are not allowed to post to this mailing list|your access to submit messages to this e-mail system has been rejected|(?:sender|e-?mail) address (?:has been )?blacklisted|address that has been blacklisted|unroutable sender|sender rejected|sender was rejected|not a member of this (?:mailing )?list|are not member|recipient addresses rejected : access denied|using the 'send mail as' feature|customfromdenied", NULL },
    { "rejected-more", "rejected", 0, "because the sender isn't on the recipient's list of senders|bogus mail from|denied \\[bouncedeny\\]|denied by secumail valid-address-filter|does not exist e2110|email address is on senderfilterconfig list|envelope blocked [\\x{2013}-] |rfc 1035 violation: recursive cname records for|syntax error: empty email address|transaction failed unsigned dsn for|mail from not owned by user|sender(?:'s)? account is disabled", NULL },
    { "rejected-words", "rejected", 0, "sending this from a different address or alias using the|blocked senders? list", NULL },
    /* Our sender's address, domain or account refused: its MX or A record missing
     * (BadSenderMX, SenderNoA), its domain on a domain list, the account suspended,
     * a list's non-member (fml: "Not member article from x@y", "reject mail from x@y"),
     * or a server that takes no mail from it (not from an IP address: blocked). */
    { "rejected-sender-more", "rejected", 0, "\\bbadsendermx\\b|\\bsendernoa\\b|mail ?from domain (?:is )?listed (?:in|at|on)|sender domain (?:is )?listed (?:in|at|on)|has an outgoing mail suspension|not member article from|reject mail from <?[^\\s<>@]+@|server does not accept mail from(?! (?:your |the |dynamic |residential )?(?:ip|host|server|network|dynamic|dial))|sending (?:e-?mail )?address (?:is |has been )?(?:blacklisted|blocked|denylisted)|sender is (?:on|in) (?:the |a |our |my |their )?(?:block|black|deny)[ -]?list|can't determine purported responsible address", NULL },
    /* Our sender said to be invalid, unknown or missing ("550 Sender address invalid",
     * "550 5.1.0 Sender unknown", "553 Sender <x@y> does not exist"): "address invalid",
     * "<x@y> does not exist" and the 5.1.0 would make it an unknown user. */
    { "rejected-sender-words", "rejected", 0, "\\bsender (?:address |e-?mail address |domain )?(?:\\S+ )?(?:is )?(?:invalid|unknown|not valid|not known|does not exist|doesn't exist|not found)\\b", NULL },
    /* The same in other languages: our sender's address or domain refused, invalid, unknown
     * or said not to exist ("Absenderadresse abgelehnt: Domain existiert nicht", "Adres
     * nadawcy odrzucony: domena nie istnieje", "发件人域名不存在", "Adresse d'expéditeur
     * invalide"), which the domain's and the address's words (hostunknown-l10n, the 5.1.0)
     * made a host or a user unknown; never a recipient's words after the sender's. The
     * refusal follows the sender's word within its clause: a salutation's comma ends that
     * ("Estimado remitente, el buzón no existe", "Sehr geehrter Absender, das Postfach ist
     * unbekannt": the recipient's mailbox). */
    { "rejected-l10n", "rejected", 0, "(?:absender|remitente|mittente|remetente|afzender|nadawc|发件人|發件人|寄件人|送信者|送信元|差出人|발신자)(?![^.\\n]{0,30}?(?:empfänger|destinataire|destinatario|destinatário|ontvanger|odbiorc|收件人|收件者|宛先|수신자|받는 사람))[^.,;!\\n\\x{ff0c}\\x{ff1b}\\x{ff01}\\x{3002}\\x{3001}]{0,30}?(?:abgelehnt|ungültig|ungueltig|unbekannt|existiert nicht|nicht gefunden|nicht bekannt|rechazad[oa]|no (?:es )?válid[oa]|inválid[oa]|desconocid[oa]|no existe|inexistente|non (?:è )?valid[oa]|rifiutat[oa]|sconosciut[oa]|inesistente|non esiste|rejeitad[oa]|desconhecid[oa]|não existe|geweigerd|ongeldig|onbekend|bestaat niet|niet gevonden|odrzucon[ya]|nieprawidłow[ya]|nieznan[ya]|nie istnieje|不存在|无效|無效|被拒|存在しません|不正|拒否|見つかりません|존재하지 않|거부)", NULL },
    { "rejected-l10n-fr", "rejected", 0, "exp[ée]diteur(?![^.\\n]{0,30}?(?:empfänger|destinataire|destinatario|destinatário|ontvanger|odbiorc|收件人|收件者|宛先|수신자|받는 사람))[^.,;!\\n\\x{ff0c}\\x{ff1b}\\x{ff01}\\x{3002}\\x{3001}]{0,30}?(?:inconnu|invalide|non valide|introuvable|n'existe pas|refus|rejet)", NULL },
    { "rejected-l10n-cyr", "rejected", 0, "отправител[ья](?![^.\\n]{0,30}?получател)[^.,;!\\n\\x{ff0c}\\x{ff1b}\\x{ff01}\\x{3002}\\x{3001}]{0,30}?(?:не существует|не найден|отклон[её]н|неверн|недопустим|неизвест)", NULL },
    /* "Access denied" in answer to MAIL FROM refuses the sender. */
    { "rejected-at-mail", "rejected", 0, "access denied", "MAIL" },
    { "blocked",      "blocked", 0, "\\bblocked (?:using|by|-\\s*see)\\b|\\bblock[ -]?list(?:s|ed)?\\b|black[ -]?list(?:s|ed)?|deny[ -]?list|\\brbl\\b|\\bdnsbls?\\b|(?<!not )listed (?:at|on|in|by)|client host rejected|connection (?:refused by|rejected|dropped|reset by peer)|not (?:currently )?accepting mail from your ip|ip address (?:rejected|blocked|banned)|your (?:ip|host|server)\\b.{0,60}\\b(?:blocked|rejected|banned|listed|refused)|banned sending ip|access (?:from|to) .{0,40}(?:denied|blocked)|helo command rejected|go away|please use the smtp server of your isp|dynamic ip|dial-?up|residential|reject(?:ed)? (?:by|due to) .{0,30}\\b(?:ip|host)\\b|hosts? (?:is )?not allowed|poor email reputation|smtp error from remote mail server after initial connection|service not available, closing transmission channel|confirm this mail server|my name was rejected|no access from mail server|is an open relay|messages from [\\d.]+ weren't sent", NULL },
    { "blocked-more", "blocked", 0, "can't determine purported responsible address|connection was dropped by remote host|connections not accepted from ip addresses on spamhaus xbl|esmtp not accepting connections|extreme bad ip profile|host network not allowed|spamcop\\.net/bl\\.|invalid ip for sending mail of domain|part of their network is on our block list|rejected because the sending mta or the sender has not passed validation|rejecting open proxy|server access forbidden by your ip|too many spams from your ip|too many unwanted messages have been sent from|you are not allowed to connect|your server requires confirmation", NULL },
    /* rblsmtpd answers with the block list's text alone, often only its
     * lookup address ("451 http://www.spamhaus.org/query/bl?ip=192.0.2.1"):
     * an IP address listed. Not the DBL's (query/dbl), which lists domains
     * named in a message (spam-words). */
    { "blocked-words", "blocked", 0, "spamhaus\\.org/(?:query/(?:bl|ip)\\b|sbl/query/)|too many invalid recipients|is not allowed to send mail from|refused - see http|to submit messages to this e-mail system has been rejected|connections will not be accepted from \\S+,? because the ip is in|mail from \\S+ refused(?::|, see orbs)|server ip \\S+ listed as abusive|service refused, please try later|your access ip has been rejected|dynamic/zombied/spam ips blocked|looks suspiciously like spammer|(?:currently )?sending spam see:|you are sending spam|mail server at \\S+ is blocked|refused to talk to me: \\d+ blocked|sender ip (?:\\S+ )?is blocked|bad sender ip address|sender ip (?:address|reverse lookup) rejected|temporarily deferred due to user complaints|traffic not accepted from this ip|ip you're using to send (?:e-?)?mail is not authorized|ip=[0-9a-f.:]+ - a problem occurred|(?:mittente|sender)/ip (?:bloccato|blocked)|@[^\\s:()]+:blocked\\)", NULL },
    /* The sending host refused: a CCSO/DNS "no matches to nameserver query" about our
     * host, Postfix's "Error: no valid recipients from [IP]". */
    { "blocked-host-more", "blocked", 0, "no matches to nameserver query|error: no valid recipients from |your access ip \\S+ has been rejected", NULL },
    /* An IP address or server blocked, or on a block list, in other languages ("Ihre IP-Adresse
     * steht auf einer Sperrliste", "liste noire", "ブラックリスト", ...). */
    { "blocked-l10n", "blocked", 0, "\\bip\\b[^\\n]{0,50}?(?:gesperrt|blockiert|bloquée|bloquee|bloqueada|bloqueado|bloccato|bloccata|geblokkeerd|zablokowany|zablokowana|zablokován|zablokována|blokován|blockerad|spärrad|engellendi|engellenmiş)|sperrliste|blockliste|schwarze[nr]? liste|listes? noires?|listas? negras?|liste nere|lista nera|zwarte lijst|czarn(?:ej|a|ą) li[sś]|černé listin|černém seznamu|svartlist|kara liste|ブラックリスト|ブロックリスト|IP(?:アドレス)?(?:が|は)[^。\\n]{0,20}?(?:拒否|ブロック|遮断)|黑名单|黑名單|IP(?:地址)?(?:已)?被(?:封|屏蔽|拒绝|拒絕)|블랙리스트|IP(?:가|는|이)? ?차단|차단된 IP", NULL },
    { "blocked-l10n-cyr", "blocked", 0, "ч[её]рн(?:ый|ом|ого|ые|ых) спис|ip-адрес[^.\\n]{0,30}?заблокирован|сервер(?:а)? отправителя заблокирован", NULL },
    { "security",     "securityerror", 0, "authentication (?:credentials invalid|failure|failed|required|turned on)|tls (?:is )?required|tls session is required|(?:did|does) not offer tls|requires? (?:a )?(?:secure|encrypted|tls|encryption)|starttls|encryption (?:required|needed)|insecure|unauthenticated senders not allowed|not authorized to perform ses|verification failure|certificate|account not subscribed to ses|executable files are not allowed", NULL },
    { "security-more", "securityerror", 0, "you are not authorized to send mail, authentication is required|authentication failed; server \\S+ said:|domain \\S+ is a dead domain|tls required but not supported", NULL },
    { "security-words", "securityerror", 0, "authentification (?:invalide|requise)|domain \\S+ is a dead domain", NULL },
    { "systemerror",  "systemerror", 0, "system error|internal (?:server )?error|local (?:configuration )?error|configuration error|config error|temporary local problem|local error in processing|server (?:is )?misconfigured|service currently unavailable|would create a mail loop|loops? back to myself|aliasing/forwarding loop|loop was found|can't create user output file|queue file write error|interrupted system call|timeout waiting for input|transaction failed|it encountered an error while being processed|could not load drd", NULL },
    { "systemerror-words", "systemerror", 0, "recipient deferred because there is no mdb|unable to connect [^\\n]{0,40}?daemon|temporary system problem|temporary lookup failure|server busy\\. please try again later", NULL },
    /* An error of the receiving system, in other languages. */
    { "systemerror-l10n", "systemerror", 0, "interner (?:server)?fehler|systemfehler|serverfehler|erreur (?:interne|système|du système|du serveur)|error (?:interno|del sistema|del servidor)|errore (?:interno|di sistema|del server)|erro (?:interno|do sistema|do servidor)|interne (?:server)?fout|systeemfout|serverfout|błąd (?:wewnętrzny|systemu|serwera)|wewnętrzny błąd|(?:interní|systémová) chyba|chyba serveru|internt (?:server)?fel|systemfel|serverfel|(?:sistem|sunucu) hatası|システムエラー|内部エラー|サーバーエラー|(?:系统|内部|服务器)错误|(?:系統|內部|伺服器)錯誤|(?:시스템|내부|서버) 오류", NULL },
    { "systemerror-l10n-cyr", "systemerror", 0, "(?:внутренняя|системная) ошибка|ошибка сервера", NULL },
    { "networkerror", "networkerror", 0, "network (?:error|unreachable)|wasn't able to establish an smtp connection|although i'm listed as a best-preference mx or a for that host|no route to host|host is unreachable|unable to resolve route|unrouteable mail domain|too many hops|hop count exceeded|routing loop(?! detected -- too many received)|message looping|forwarding loop|dns (?:error|failure|records for the destination)|name server(?!: \\.: host not found)|could not connect|connection (?:lost|closed)|lost connection|host not found, try again|host name lookup failure|name service error|dns query failed|nxdomain|dns lookup failure|lookup of \\S+ responded|mail loop detected", NULL },
    /* The system's own words for a route that failed ("connect to ...: Network is
     * unreachable", errno ENETUNREACH). */
    /* CommuniGate Pro: "connection with mx.example.org is broken". */
    { "networkerror-words", "networkerror", 0, "network is unreachable|\\bconnection with \\S+ is broken\\b", NULL },
    /* No connection to the receiving server, in other languages ("Es konnte keine Verbindung
     * hergestellt werden", "Impossible de se connecter au serveur", "接続できませんでした", ...). */
    { "networkerror-l10n", "networkerror", 0, "keine verbindung[^.\\n]{0,50}?hergestellt|verbindung[^.\\n]{0,50}?(?:nicht hergestellt|fehlgeschlagen)|(?:server|host)[^.\\n]{0,30}?(?:nicht erreichbar|unerreichbar)|netzwerkfehler|impossible de (?:se connecter|joindre le serveur|contacter le serveur|établir (?:une |la )?connexion)|(?:serveur|hôte)[^.\\n]{0,30}?(?:injoignable|inaccessible)|erreur (?:de )?réseau|connexion (?:au serveur )?(?:impossible|a échoué)|no se (?:pudo|puede|ha podido) (?:conectar|establecer (?:una |la )?conexión)|(?:servidor|host)[^.\\n]{0,30}?(?:inaccesible|inalcanzable)|error de red|impossibile (?:connettersi|collegarsi|stabilire (?:una |la )?connessione)|(?:server|host)[^.\\n]{0,30}?(?:non raggiungibile|irraggiungibile)|errore di rete|não (?:foi|é) possível (?:conectar|estabelecer (?:uma |a )?(?:conexão|ligação))|(?:servidor|host)[^.\\n]{0,30}?(?:inacessível|inalcançável)|erro de rede|(?:kon|kan) geen verbinding (?:maken|tot stand brengen)|(?:server|host)[^.\\n]{0,30}?(?:onbereikbaar|niet bereikbaar)|netwerkfout|nie (?:można|udało się) (?:połączyć|nawiązać połączenia)|(?:serwer|host)[^.\\n]{0,30}?nieosiągalny|błąd sieci|(?:nelze|nepodařilo se) (?:se )?(?:připojit|navázat (?:spojení|připojení))|(?:server|hostitel)[^.\\n]{0,30}?(?:nedostupný|není dostupný)|chyba sítě|kunde inte (?:ansluta|upprätta (?:en )?anslutning)|(?:servern|värden)[^.\\n]{0,30}?(?:inte nåbar|onåbar|kunde inte nås)|nätverksfel|bağlantı kurulamadı|sunucu(?:ya|suna)?[^.\\n]{0,30}?(?:ulaşılamıyor|ulaşılamadı|erişilemiyor|erişilemedi)|ağ hatası|接続(?:でき(?:ません|なかった)|に失敗)|ネットワークエラー|无法连接|無法連線|無法連接|连接失败|連線失敗|网络错误|網路錯誤|연결할 수 없|연결에 실패|연결하지 못|네트워크 오류", NULL },
    { "networkerror-l10n-cyr", "networkerror", 0, "не удалось (?:подключиться|соединиться|установить (?:соединение|подключение))|сервер[^.\\n]{0,30}?недоступен|ошибка сети|сетевая ошибка", NULL },
    { "expired",      "expired", 0, "delivery time expired|connection timed out|connection refused|giving up\\b(?! on \\[?\\d)|will be retried|did not accept our requests to connect|could not find a gateway|could not deliver for the last|message expired|retry (?:timeout|time)? ?(?:exceeded|not reached)|has been delayed|gave up|have been failing for a long time|in the queue too long|queue (?:lifetime|time) (?:exceeded|expired)|not reachable within the allowed queue period|could not be delivered for more than|unable to deliver message after multiple retries|server did not respond|message timed out|timed out|was not delivered within|undeliverable for \\d+|too long in queue|expired after|retry period|delivery attempts will continue|delivery is delayed|not yet been delivered|could not be delivered within", NULL },
    { "expired-more", "expired", 0, "failed to deliver to domain |it has not been collected after|message expired after sitting in queue for|retry time not reached for any host after a long failure period|delivery expired \\(message too old\\)", NULL },
    { "expired-words", "expired", 0, "delivery expired|failed to deliver to domain", NULL },
    /* Delivery given up after retries or a time limit, in other languages ("nach mehreren
     * Zustellversuchen", "après plusieurs tentatives", "一定期間内に配送できなかった", ...). */
    { "expired-l10n", "expired", 0, "nach (?:mehreren|wiederholten|zahlreichen) (?:zustellversuchen|versuchen)|zustellversuche[^.\\n]{0,20}?(?:aufgegeben|eingestellt)|zeitüberschreitung|zeitlimit (?:überschritten|abgelaufen)|(?:zustellfrist|zustellzeit|verweildauer|liegezeit)[^.\\n]{0,30}?(?:abgelaufen|überschritten)|après (?:plusieurs|de nombreuses|de multiples) tentatives|délai (?:de (?:remise|livraison|distribution) )?(?:a )?(?:expiré|dépassé)|délai d'attente (?:dépassé|expiré)|(?:después de|tras) (?:varios|múltiples|repetidos|reiterados) intentos|tiempo (?:de (?:entrega|espera) )?(?:ha )?(?:expirado|agotado|excedido)|plazo de entrega (?:ha )?(?:expirado|vencido)|dopo (?:diversi|numerosi|ripetuti|vari|molteplici) tentativi|tempo (?:di (?:consegna|attesa) )?(?:è )?scaduto|após (?:várias|diversas|repetidas|múltiplas) tentativas|tempo (?:limite |de (?:entrega|espera) )?(?:esgotado|expirado|excedido)|prazo (?:de entrega )?(?:expirou|expirado|esgotado)|na (?:meerdere|herhaalde|verschillende) pogingen|(?:bezorgtijd|wachttijd)[^.\\n]{0,20}?(?:verlopen|overschreden)|po (?:wielu|kilku|licznych|wielokrotnych) próbach|przekroczono (?:limit )?czas|po (?:několika|opakovaných|mnoha) pokusech|vypršel(?:a|o)? (?:časový limit|doba)|efter (?:flera|upprepade|många) försök|tidsgränsen (?:för leverans )?(?:har )?(?:överskridits|löpt ut)|(?:birkaç|birçok|birden fazla) denemeden sonra|zaman aşımı|teslim süresi (?:doldu|aşıldı)|一定期間(?:内に)?(?:配送|配信|送信)(?:でき|に失敗)|再送(?:信)?(?:を)?試み|(?:配送|配信)期限|タイムアウト|多次尝试|多次嘗試|多次重试|多次重試|投递超时|投遞逾時|超时|超時|逾時|(?:여러 (?:차례|번)|수차례) 시도|재시도(?:했|에 실패|하였)|시간(?:이)? 초과|전송 기간(?:이)? 만료", NULL },
    { "expired-l10n-cyr", "expired", 0, "после (?:нескольких|многократных|многочисленных|повторных) попыток|(?:истекло|ист[её]к|превышено) (?:время|срок)|тайм-аут", NULL },
    { "contenterror", "contenterror", 0, "improper use of 8-bit data|invalid mime|mime complexity|header size exceeds|improperly-formatted binary|unnecessary base64|content (?:error|rejected)|message content|routing loop detected -- too many received", NULL },
    { "contenterror-more", "contenterror", 0, "message header size, or recipient list, exceeds policy limit|this message contain (?:invalid mime headers|improperly-formatted binary content|text that uses unnecessary base64 encoding)", NULL },
    { "systemfull",   "systemfull", 0, "mail system full|system full|insufficient disk space|exceeded storage allocation|insufficient system storage|disk is full|out of (?:disk|storage|memory)", NULL },
    /* The receiving system out of space, in other languages. */
    { "systemfull-l10n", "systemfull", 0, "nicht genügend (?:speicherplatz|festplattenspeicher|systemspeicher) auf dem server|(?:mailsystem|e-mail-system|mailserver) (?:ist )?voll\\b|espace disque insuffisant|système (?:de messagerie )?(?:est )?plein|espacio en disco insuficiente|sistema (?:de correo )?(?:está )?lleno|spazio su disco insufficiente|sistema (?:di posta )?(?:è )?pieno|espaço em disco insuficiente|onvoldoende schijfruimte|brak miejsca na dysku|nedostatek místa na disku|otillräckligt diskutrymme|disk alanı yetersiz|ディスク(?:が(?:一杯|いっぱい|満杯)|領域(?:が|の)?不足)|(?:磁盘|硬盘)空间不足|磁碟空間不足|디스크 공간(?:이)? 부족", NULL },
    { "systemfull-l10n-cyr", "systemfull", 0, "недостаточно места на диске|диск (?:сервера )?переполнен", NULL },
    { "notaccept",    "notaccept", 0, "does not accept mail(?! from)|name server: \\.: host not found|null ?mx|no mx record found|couldn't find a mail exchanger|doesn't receive email according to|no route for current request|smtp protocol returned a permanent error|not accepting (?:network )?messages|host/domain does not accept", NULL },
    { "notaccept-words", "notaccept", 0, "mail receiving disabled|domain does not (?:accept|receive) (?:e-?mail|mail)|domain \\S+ does not receive e-?mail|\\bno (?:mx or a|a or mx) records? for\\b|\\bno mx records? (?:were |was )?found for the\\b", NULL },
    { "mailererror",  "mailererror", 0, "^procmail:|bin/(?:procmail|maildrop)|command (?:failed|died|output)|exit (?:code |status )?\\d+|mailer error|pipe to \\||x-unix;|unknown mailer error|mail(?:er)? program|delivery to (?:a )?(?:program|pipe)", NULL },
    { "mailererror-words", "mailererror", 0, "\\|\\| exit\\b|procmail:|bin/mai(?:l)?drop", NULL },
    { "syntaxerror",  "syntaxerror", 0, "syntax error|command unrecognized|command not (?:recognized|implemented)|bad sequence of commands|unrecognized command|parameter not (?:recognized|implemented)|malformed address:|angle-brackets nested too deep|expected word or \"<\"|domain missing in source-routed address", NULL },
};

/* The domains of the providers with more than one, as their rules give them. */
#define RHOST_GOOGLE     "google.com|smtp-relay.gmail.com"
#define RHOST_MICROSOFT  "outlook.com|office365.com|onmicrosoft.com|exchangelabs.com"
#define RHOST_MIMECAST   "mimecast.com|mimecast.co.za|mimecast-offshore.com"
#define RHOST_ORANGE     "orange.fr|wanadoo.fr|laposte.net"
#define RHOST_APPLE      "icloud.com|me.com|apple.com"
#define RHOST_SPECTRUM   "charter.net|spectrum.net|twc.com|rr.com|roadrunner.com|brighthouse.com"
#define RHOST_NETEASE    "163.com|126.com|yeah.net|netease.com"
#define RHOST_LAPOSTE    "laposte.net|laposte.fr"
/* Yahoo's MX hosts (yahoodns.net) and the domains of its mailboxes; not
 * yahoo.co.jp, Yahoo! JAPAN's, another company's mail service on its own
 * servers. */
#define RHOST_YAHOO      "yahoo.com|yahoo.co.uk|yahoo.fr|yahoo.de|yahoo.es|yahoo.it|yahoo.ca|yahoo.com.au|yahoo.com.br|yahoodns.net|ymail.com|rocketmail.com"

/* Provider wording that means something other than what the generic table
 * would say, and the providers' documented error codes; a rule applies only
 * when the remote host (or, that failing, the recipient's domain, or with
 * no remote host the reporting host) is one of the domains its rhost lists
 * ('|'-separated) or lies under one, compared by labels: "cox.net" takes
 * "mx.cox.net", not "mx.notcox.net" nor "cox.net.example.org". The
 * text matched is the diagnostic followed by one line
 * "status=X.Y.Z command=CMD" (either may be empty), for providers whose
 * answer means different things at different steps. */
static const BounceRule table_rhost_reason[] = {
    { "rhost-googlegroups",    "rejected", 0, "\\A(?![\\s\\S]*5\\.1\\.1)", "googlegroups.com" },
    { "rhost-google-sender",   "rejected", 0, "mail sending denied|unauthenticated email is not accepted from this domain", RHOST_GOOGLE },
    { "rhost-google-toomany",  "toomanyconn", 0, "your message has too many recipients|too many recipients for this sender", RHOST_GOOGLE },
    /* "This mail has been rate limited because it is unauthenticated":
     * the cause is authentication, not a rate. */
    { "rhost-google-auth-rate","authfailure", 0, "rate limited because it is unauthenticated|senders to authenticate (?:with (?:either spf or dkim|spf|dkim)|their email with (?:spf|dkim))", RHOST_GOOGLE },
    { "rhost-google-speeding", "speeding", 0, "is receiving mail (?:too quickly|at a rate that prevents)|rate that prevents additional messages|daily (?:sending quota|user sending (?:quota|limit)|smtp relay (?:sending )?limit) exceeded|this mail has been rate limited", RHOST_GOOGLE },
    /* Google's SMTP relay refusing a host or a domain it does not serve,
     * and Gmail telling a host to send through its provider's relay. */
    { "rhost-google-relay",    "norelaying", 0, "mail relay denied|invalid credentials for relay|not authorized to send (?:e-?mail|mail) directly to our servers", RHOST_GOOGLE },
    { "rhost-google-blocked",  "blocked", 0, "try again later, closing connection|unusual rate of (?:unsolicited )?mail|ip not in whitelist for rcpt domain|helo/ehlo argument is invalid|empty helo/ehlo argument", RHOST_GOOGLE },
    { "rhost-google-reputation","badreputation", 0, "very low reputation of the sending", RHOST_GOOGLE },
    { "rhost-google-ptr",      "requireptr", 0, "does not have a ptr record|have a ptr record, or the ptr record|ipv6 sending guidelines regarding ptr|does not match the ip address of the hostname", RHOST_GOOGLE },
    { "rhost-google-auth",     "authfailure", 0, "does not have authentication|not pass authentication|fails to pass (?:spf|authentication) checks|unauthenticated email|senders to authenticate|spf record (?:of the sending domain|with a hard fail)|aligned with either the authenticated|dmarc record|dkim|spf|dmarc", RHOST_GOOGLE },
    { "rhost-google-rfc",      "notcompliantrfc", 0, "not rfc 5322 compliant|missing a valid (?:address in the from: header|message-id)|multiple addresses in from: header|unicode character in a disallowed header|encoded-word syntax is not permitted|mail message is malformed", RHOST_GOOGLE },
    { "rhost-google-policy",   "policyviolation", 0, "illegal attachment on your message|content presents a potential security issue|has a policy that prohibited the mail|with the same message-id", RHOST_GOOGLE },
    /* Gmail's bulk-sender rules: mail not sent over TLS (4.7.29); its words
     * "bulk email senders" are no spam's. */
    { "rhost-google-tls",      "securityerror", 0, "wasn't sent over a tls connection|senders to use tls(?:/ssl)? for smtp connections", RHOST_GOOGLE },
    /* Limits on a message's parts (attachments, headers), not its size. */
    { "rhost-google-exceedlimit","exceedlimit", 0, "exceeds google's limit of \\d+ attachments|bytes per individual header size|google's (?:message header size limits?|header name limit)", RHOST_GOOGLE },
    { "rhost-google-expired",  "expired", 0, "connection expired, try reconnecting|timeout - closing connection", RHOST_GOOGLE },
    { "rhost-google-senderrfc","notcompliantrfc", 0, "sender address .{0,200}is not a valid rfc 5321 address", RHOST_GOOGLE },
    { "rhost-google-speeding2","speeding", 0, "peak smtp relay limit exceeded", RHOST_GOOGLE },
    { "rhost-google-system",   "systemerror", 0, "temporary system problem|server busy|multiple destination domains per transaction|mail server (?:has )?temporarily rejected (?:this )?message|domain policy size per transaction", RHOST_GOOGLE },
    { "rhost-google-syntax",   "syntaxerror", 0, "smtp protocol violation|bad sequence of commands|unrecognized command|unimplemented command|no data after bdat|optional argument not permitted|unrecognized authentication type|too many unauthenticated commands|ehlo/helo first", RHOST_GOOGLE },
    { "rhost-google-spam",     "spamdetected", 0, "likely unsolicited mail|nature of the content or the links", RHOST_GOOGLE },
    { "rhost-google-suspend",  "suspend", 0, "account (?:that you tried to reach )?is (?:disabled|inactive)|is disabled|has been disabled", RHOST_GOOGLE },
    { "rhost-google-full",     "mailboxfull", 0, "out of storage space|over quota|storage quota|inbox is full|email quota exceeded", RHOST_GOOGLE },
    /* A bare "does not exist" in answer to MAIL FROM is of our sender's
     * address. */
    { "rhost-google-user",     "userunknown", 0, "email account that you tried to reach does not exist|does not exist(?![\\s\\S]*command=mail$)", RHOST_GOOGLE },
    /* Google Workspace's own wording (reported by googlemail.com). */
    { "rhost-gsuite-user",     "userunknown", 0, "because the address couldn't be found\\. check for typos", "googlemail.com" },
    /* "5.4.1 Relay Access Denied": the domain is not one the tenant
     * accepts, unlike 5.4.1 "Recipient address rejected: Access denied"
     * (directory-based edge blocking: no such recipient). */
    { "rhost-ms-relay",        "norelaying", 0, "5\\.4\\.1 relay access denied|tenantattribution; relay access denied", RHOST_MICROSOFT },
    /* RFC 2606's reserved names and single-label domains can never receive mail. */
    { "rhost-ms-reserved",     "userunknown", 0, "recipient address reserved by rfc 2606|recipient addresses in single label domains not accepted", RHOST_MICROSOFT },
    { "rhost-ms-user",         "userunknown", 0, "recipnotfound|recipient not found|address couldn't be found|not found by smtp address lookup|5\\.4\\.1 .{0,40}access denied|access denied.{0,30}5\\.4\\.1|5\\.4\\.1 \\[[^\\]]+\\]: recipient address rejected: access denied", RHOST_MICROSOFT },
    { "rhost-ms-sender",       "rejected", 0, "client blocked from sending from unregistered domains", RHOST_MICROSOFT },
    { "rhost-ms-block",        "blocked", 0, "banned sending ip|banned sender|bad helo|rejected by recipient|customer block list|part of their network is on our block list|5\\.7\\.606|5\\.7\\.511|s3150|blocked using|block list", RHOST_MICROSOFT },
    { "rhost-ms-auth",         "authfailure", 0, "5\\.7\\.509|dmarc|spf|dkim|not pass authentication|required authentication level", RHOST_MICROSOFT },
    { "rhost-ms-reputation",   "badreputation", 0, "4\\.7\\.650|poor reputation|ip reputation", RHOST_MICROSOFT },
    { "rhost-ms-null",         "userunknown", 0, "5\\.1\\.10|null mx", RHOST_MICROSOFT },
    /* Comcast's documented codes (postmaster.comcast.net, smtp-error-codes). */
    { "rhost-comcast-block",   "blocked", 0, "#bl0000\\d\\d\\b|found on one or more dnsbls", "comcast.net" },
    { "rhost-comcast-auth",    "authfailure", 0, "#dm0000\\d\\d\\b|rejected due to dmarc", "comcast.net" },
    { "rhost-comcast-speeding","speeding", 0, "#rl0000\\d\\d\\b|throttled", "comcast.net" },
    /* Exchange Online's documented codes whose class alone misleads. */
    { "rhost-ms-speeding",     "speeding", 0, "per hour message receive limit(?: from specific sender)? exceeded|has exceeded permitted limits within|reached your daily limit for message recipients|submission quota exceeded|recipient thread limit exceeded", RHOST_MICROSOFT },
    { "rhost-ms-toomany",      "toomanyconn", 0, "the recipient has exceeded their limit for|access denied, tenant has exceeded threshold", RHOST_MICROSOFT },
    { "rhost-ms-suspend",      "suspend", 0, "access denied, banned recipient|5\\.7\\.504 .{0,40}recipient address rejected: access denied|mailbox cannot be accessed", RHOST_MICROSOFT },
    { "rhost-ms-policy",       "policyviolation", 0, "5\\.7\\.9\\d\\d .{0,40}delivery not authorized, message refused|policy violation detected \\(as\\d+\\)|x-dg-ref header is too long", RHOST_MICROSOFT },
    { "rhost-ms-spam",         "spamdetected", 0, "content filter agent quarantined this message", RHOST_MICROSOFT },
    { "rhost-ms-rejected",     "rejected", 0, "delivery not authorized|sender was not authenticated by organization|sender not in allowed-senders list|access denied, bad outbound sender|access denied, spam abuse detected", RHOST_MICROSOFT },
    { "rhost-ms-system",       "systemerror", 0, "server busy\\. please try again later from|pfa agent busy|\\(suspiciousremoteservererror\\)|destination mailbox address ambiguous|mailing list expansion problem|misconfigured forwarding address", RHOST_MICROSOFT },
    /* Exchange Online's remaining documented replies: the IP restricted
     * while its traffic is evaluated (4.7.500-899), messages Exchange
     * found malformed, a recipient's own size limit, its back-end
     * service down or its replication failing, an X.400 address that is
     * no address, and Outlook.com's 5.5.0 for a mailbox it does not
     * have: a recipient's, so not in answer to MAIL FROM, where the
     * mailbox is our sender's (the line "command=MAIL" closes the text
     * these rules see). */
    { "rhost-ms-tryagain",     "blocked", 0, "access denied, please try again later", RHOST_MICROSOFT },
    { "rhost-ms-content",      "contenterror", 0, "too many related errors|agent generated message depth exceeded|invalid message content", RHOST_MICROSOFT },
    { "rhost-ms-exceedlimit",  "exceedlimit", 0, "recipsizelimit; message too large for this recipient", RHOST_MICROSOFT },
    { "rhost-ms-system2",      "systemerror", 0, "4\\.3\\.2 service not (?:available|active)|message failed to be replicated|temporary server error\\. please try again later", RHOST_MICROSOFT },
    { "rhost-ms-user2",        "userunknown", 0, "invalid x\\.400 address|5\\.5\\.0 requested action not taken: mailbox unavailable(?![\\s\\S]*command=mail$)", RHOST_MICROSOFT },
    /* Outlook.com (Hotmail) and Aol answering from their own MX. */
    { "rhost-hotmail-host",    "hostunknown", 0, "the mail could not be delivered to the recipient because the domain is not reachable", "hotmail.com" },
    { "rhost-hotmail-user",    "userunknown", 0, "requested action not taken: mailbox unavailable(?![\\s\\S]*command=mail$)", "hotmail.com" },
    { "rhost-aol-host",        "hostunknown", 0, "host or domain name not found", "mail.aol.com|mx.aol.com" },
    { "rhost-aol-nullmx",      "notaccept", 0, "type=mx: malformed or unexpected name server reply", "mail.aol.com|mx.aol.com" },
    /* Cloudflare Email Routing (developers.cloudflare.com/email-routing/postmaster). */
    { "rhost-cloudflare-block","blocked", 0, "found on one or more dnsbls", "mx.cloudflare.net" },
    { "rhost-cloudflare-system","systemerror", 0, "upstream error", "mx.cloudflare.net" },
    /* Apple iCloud Mail (support.apple.com/en-us/102322). */
    { "rhost-apple-user",      "userunknown", 0, "inactive email address|user does not exist|unknown or illegal alias|mailbox does not exist|no such user", RHOST_APPLE },
    { "rhost-apple-moved",     "hasmoved", 0, "recipient no longer on server", RHOST_APPLE },
    { "rhost-apple-full",      "mailboxfull", 0, "user is over quota|mailbox is full|quota exceeded", RHOST_APPLE },
    { "rhost-apple-auth",      "authfailure", 0, "s dmarc policy|failing both spf and dkim|spf|dkim|dmarc|not pass authentication", RHOST_APPLE },
    { "rhost-apple-relay",     "norelaying", 0, "relay access denied", RHOST_APPLE },
    { "rhost-apple-notaccept", "notaccept", 0, "host/domain does not accept mail", RHOST_APPLE },
    { "rhost-apple-policy",    "policyviolation", 0, "due to local policy", RHOST_APPLE },
    { "rhost-apple-sender",    "rejected", 0, "sender address rejected", RHOST_APPLE },
    { "rhost-apple-speeding",  "speeding", 0, "due to excessive volume", RHOST_APPLE },
    { "rhost-apple-block",     "blocked", 0, "spamhaus|proofpoint\\.com/dnsbl|not accepting connections|\\bblocked\\b", RHOST_APPLE },
    /* Yahoo Inc. (senders.yahooinc.com/smtp-error-codes), answering from
     * its MX hosts. Its TSS04 "deferred due to unexpected volume or user
     * complaints" refuses the sender. */
    { "rhost-yahooinc-auth",   "authfailure", 0, "requires all senders to authenticate with either spf or dkim", "yahoodns.net" },
    { "rhost-yahooinc-block",  "blocked", 0, "because the ip is in spamhaus's list|not accepted from ip addresses on spamhaus xbl", "yahoodns.net" },
    { "rhost-yahooinc-relay",  "norelaying", 0, "relaying denied for ", "yahoodns.net" },
    { "rhost-yahooinc-rfc",    "notcompliantrfc", 0, "headers are not rfc compliant", "yahoodns.net" },
    { "rhost-yahooinc-policy", "policyviolation", 0, "not accepted for policy reasons", "yahoodns.net" },
    { "rhost-yahooinc-sender", "rejected", 0, "temporarily deferred due to unexpected volume or user complaints|due to unresolvable rfc\\.?5321 (?:from )?domain| will be permanently deferred", "yahoodns.net" },
    { "rhost-yahooinc-speeding","speeding", 0, "user is receiving mail too quickly", "yahoodns.net" },
    { "rhost-yahooinc-suspend","suspend", 0, " is no longer valid\\.|this mailbox is disabled", "yahoodns.net" },
    { "rhost-yahooinc-toomany","toomanyconn", 0, "max message per connection reached", "yahoodns.net" },
    /* Yahoo's own domains (RHOST_YAHOO). Not where the refusal is of our
     * sender's address ("Sender address rejected: ... User not found"),
     * the recipient's domain having chosen the rule. */
    { "rhost-yahoo-user",      "userunknown", 0, "\\A(?![\\s\\S]*sender address rejected)[\\s\\S]*?(?:user doesn't have a|user not found|does not exist|mailbox not found)", RHOST_YAHOO },
    /* The sending host's name: "reverse" alone is also the SMTP reverse
     * path, our envelope sender. */
    { "rhost-yahoo-ptr",       "requireptr", 0, "\\bptr\\b|reverse (?:dns|lookup|mapping|hostname)|cannot find your hostname", RHOST_YAHOO },
    { "rhost-yahoo-block",     "blocked", 0, "not accepting mail from this ip|ip not accepted|\\[bl2[0-9]\\]", RHOST_YAHOO },
    /* Orange and La Poste: the code after LPN, OFR or OUK
     * (postmastery.com/orange-postmaster-smtp-error-codes-ofr). */
    { "rhost-fptt-blocked",    "blocked", 0, "\\b(?:lpn|ofr|ouk)\\w*?(?:10[123]|510|999)\\b", RHOST_ORANGE },
    { "rhost-fptt-toomany",    "toomanyconn", 0, "\\b(?:lpn|ofr|ouk)\\w*?104\\b", RHOST_ORANGE },
    { "rhost-fptt-security",   "securityerror", 0, "\\b(?:lpn|ofr|ouk)\\w*?(?:305|402)\\b", RHOST_ORANGE },
    { "rhost-fptt-auth",       "authfailure", 0, "\\b(?:lpn|ofr|ouk)\\w*?(?:401|517)\\b|spf/dns de votre nom de domaine", RHOST_ORANGE },
    { "rhost-fptt-sender",     "rejected", 0, "\\b(?:lpn|ofr|ouk)\\w*?(?:403|405|415|421)\\b", RHOST_ORANGE },
    { "rhost-fptt-user",       "userunknown", 0, "\\b(?:lpn|ofr|ouk)\\w*?41[68]\\b", RHOST_ORANGE },
    { "rhost-fptt-full",       "mailboxfull", 0, "\\b(?:lpn|ofr|ouk)\\w*?417\\b", RHOST_ORANGE },
    { "rhost-fptt-suspend",    "suspend", 0, "\\b(?:lpn|ofr|ouk)\\w*?42[06]\\b", RHOST_ORANGE },
    { "rhost-fptt-system",     "systemerror", 0, "\\b(?:lpn|ofr|ouk)\\w*?505\\b", RHOST_ORANGE },
    { "rhost-fptt-spam",       "spamdetected", 0, "\\b(?:lpn|ofr|ouk)\\w*?506\\b", RHOST_ORANGE },
    { "rhost-fptt-toobig",     "mesgtoobig", 0, "\\b(?:lpn|ofr|ouk)\\w*?514\\b", RHOST_ORANGE },
    { "rhost-fptt-policy",     "policyviolation", 0, "\\b(?:lpn|ofr|ouk)\\w*?630\\b", RHOST_ORANGE },
    { "rhost-fptt-undefined",  "undefined", 0, "\\b(?:lpn|ofr|ouk)\\w*?\\d{3}\\b", RHOST_ORANGE },
    { "rhost-orange-user",     "userunknown", 0, "adresse d au moins un destinataire invalide|invalid recipient", "orange.fr|wanadoo.fr" },
    { "rhost-orange-block",    "blocked", 0, "mail rejete|service refuse|bloqu", "orange.fr|wanadoo.fr" },
    { "rhost-laposte-user",    "userunknown", 0, "invalid recipient|destinataire invalide|n'existe pas", RHOST_LAPOSTE },
    { "rhost-laposte-full",    "mailboxfull", 0, "boite du destinataire pleine|quota|over quota", RHOST_LAPOSTE },
    { "rhost-laposte-suspend", "suspend", 0, "compte du destinataire est bloque|recipient account is blocked", RHOST_LAPOSTE },
    { "rhost-laposte-block",   "blocked", 0, "bloqu|blacklist|spam", RHOST_LAPOSTE },
    /* GoDaddy: the IB code it appends (godaddy.com/help/3568). */
    { "rhost-godaddy-security","securityerror", 0, "\\bib401\\b", "secureserver.net" },
    { "rhost-godaddy-rfc",     "notcompliantrfc", 0, "\\bib50[12]\\b", "secureserver.net" },
    { "rhost-godaddy-sender",  "rejected", 0, "\\bib506\\b", "secureserver.net" },
    { "rhost-godaddy-auth",    "authfailure", 0, "\\bib508\\b", "secureserver.net" },
    { "rhost-godaddy-ptr",     "requireptr", 0, "\\bib108\\b", "secureserver.net" },
    { "rhost-godaddy-spam",    "spamdetected", 0, "\\bib212\\b|message rejected for spam or virus content", "secureserver.net" },
    { "rhost-godaddy-virus",   "virusdetected", 0, "\\bib705\\b", "secureserver.net" },
    { "rhost-godaddy-toomany", "toomanyconn", 0, "\\bib(?:605|007)\\b", "secureserver.net" },
    { "rhost-godaddy-rate",    "speeding", 0, "\\bib(?:101|504|510|607)\\b", "secureserver.net" },
    { "rhost-godaddy-reputation","badreputation", 0, "\\bib103\\b", "secureserver.net" },
    { "rhost-godaddy-rbl",     "blocked", 0, "\\bib(?:10[4-6]|11[0-3])\\b|rbl reject|spamhaus\\.org/query/bl", "secureserver.net" },
    { "rhost-godaddy-expired", "expired", 0, "has been in the queue too long|delivery timeout", "secureserver.net" },
    { "rhost-godaddy-full",    "mailboxfull", 0, "account storage limit", "secureserver.net" },
    { "rhost-godaddy-suspend", "suspend", 0, "account disabled", "secureserver.net" },
    { "rhost-godaddy-loop",    "systemerror", 0, "message is looping", "secureserver.net" },
    { "rhost-godaddy-user",    "userunknown", 0, "recipient not found|account does not exist", "secureserver.net" },
    { "rhost-godaddy-speed",   "speeding", 0, "ipts04|ipts0\\d|too many messages|rate limit|exceeded the max emails", "secureserver.net" },
    /* Block lists by name; "rejected" alone is every refusal's word
     * ("550 5.1.1 <x> recipient rejected"), read as anywhere else. */
    { "rhost-godaddy-block",   "blocked", 0, "ipbl|rhbl|dybl|\\bblocked\\b|spamhaus", "secureserver.net" },
    /* Tencent QQ mail (service.mail.qq.com/detail/122). */
    { "rhost-qq-auth",         "authfailure", 0, "spf check failed|dmarc check failed", "qq.com" },
    { "rhost-qq-block",        "blocked", 0, "suspected bounce attacks|suspected spam ip|connection denied", "qq.com" },
    { "rhost-qq-toobig",       "mesgtoobig", 0, "message too large", "qq.com" },
    { "rhost-qq-sender",       "rejected", 0, "suspected spam|mail is rejected by recipients", "qq.com" },
    { "rhost-qq-speeding",     "speeding", 0, "mailbox unavailable or access deni(?:n)?ed|frequency of receiving messages is limited", "qq.com" },
    { "rhost-qq-syntax",       "syntaxerror", 0, "bad address syntax", "qq.com" },
    { "rhost-qq-toomany",      "toomanyconn", 0, "(?:ip|domain|sender|connection) frequency limited|too many (?:connections|mails|messages)", "qq.com" },
    { "rhost-qq-spam",         "spamdetected", 0, "spam is embedded in the email|mail content denied|spam|content denied|mail content", "qq.com" },
    { "rhost-qq-suspend",      "suspend", 0, "is a deactivated mailbox|suspend|deactivated|disabled|frozen", "qq.com" },
    /* Whole words: "fully-qualified" is a HELO's, and "unavailable" a
     * service's as much as a mailbox's. */
    { "rhost-qq-full",         "mailboxfull", 0, "\\bfull\\b|quota|\\bspace\\b", "qq.com" },
    /* The recipient's mailbox, user or address said not to be found or
     * not to exist: "not found" alone is also our sender's domain's
     * ("Domain of sender address ... not found") or a DNS record's
     * ("Reverse DNS record of your IP not found"), read as anywhere else. */
    { "rhost-qq-user",         "userunknown", 0, "mailbox not found|(?:mailbox|user|recipient|address|account)(?<!sender address)(?<!sender's address) (?:<[^<>\\s]+> )?(?:does not exist|not found|(?:is )?unavailable)", "qq.com" },
    /* NetEase (163.com, 126.com, yeah.net): the code after the reply, "554 HL:IHU",
     * "450 MI:DMC", "550 RP:FRL" (its postmaster's list of rejection codes). */
    { "rhost-netease-blocked", "blocked", 0, "\\b(?:hl:(?:rep|mep|ihu|ipb)|dt:rbl|wm:bli|mi:cel|rp:cel)\\b", RHOST_NETEASE },
    { "rhost-netease-toomany", "toomanyconn", 0, "\\b(?:hl:icc|mi:(?:dmc|ccl|stc)|rp:(?:drc|ccl))\\b", RHOST_NETEASE },
    { "rhost-netease-speeding","speeding", 0, "\\b(?:hl:(?:ifc|ifq)|mi:sfq|rp:(?:rcl|trc|qrc))\\b", RHOST_NETEASE },
    { "rhost-netease-relay",   "norelaying", 0, "\\brp:frl\\b", RHOST_NETEASE },
    { "rhost-netease-sender",  "rejected", 0, "\\bwm:blu\\b", RHOST_NETEASE },
    /* au (KDDI): "550 : User unknown", without the address, is the
     * recipient's filter refusing the sender; with it, there is no such
     * user. */
    { "rhost-kddi-filter",     "filtered", 0, "550 ?:(?: ?:)? user unknown", "ezweb.ne.jp|au.com" },
    { "rhost-kddi-user",       "userunknown", 0, ">: user unknown", "ezweb.ne.jp|au.com" },
    { "rhost-kddi-refused",    "filtered", 0, "550 unknown user|rejected|refused(?<!connection refused)", "ezweb.ne.jp" },
    /* NTT docomo answers "550 Unknown user" both for an unknown user (at
     * RCPT TO, 5.1.1) and for its sender filter (after DATA, 5.2.0). */
    { "rhost-docomo-full",     "mailboxfull", 0, "552 too much mail data", "docomo.ne.jp" },
    { "rhost-docomo-toomany",  "toomanyconn", 0, "552 too many recipients", "docomo.ne.jp" },
    { "rhost-docomo-syntax",   "syntaxerror", 0, "503 bad sequence of commands|504 command parameter not implemented", "docomo.ne.jp" },
    { "rhost-docomo-user",     "userunknown", 0, "^status=5\\.1\\.1 |^status=5\\.0\\.0 command=RCPT$", "docomo.ne.jp" },
    { "rhost-docomo-filter",   "filtered", 0, "^status=5\\.2\\.0 ", "docomo.ne.jp" },
    { "rhost-docomo-sender",   "rejected", 0, "^status=5\\.0\\.0 command=DATA$", "docomo.ne.jp" },
    /* Cox: "AUP#CXBL" and friends (cox.com postmaster). */
    { "rhost-cox-block",       "blocked", 0, "aup#(?:cxbl|cdrbl|ipbl\\d+)\\b|too many bad commands from|too many invalid recipients", "cox.net" },
    { "rhost-cox-ptr",         "requireptr", 0, "aup#cxdns\\b|dns check failure - try again later|rejected - no rdns", "cox.net" },
    { "rhost-cox-auth",        "authfailure", 0, "aup#cxsndr\\b", "cox.net" },
    { "rhost-cox-sender",      "rejected", 0, "aup#cxsmtp\\b|sender rejected", "cox.net" },
    { "rhost-cox-toomany",     "toomanyconn", 0, "aup#(?:cxcnct|cxmxrt)\\b|too many sessions from|requested action aborted: try again later|message threshold exceeded", "cox.net" },
    { "rhost-cox-security",    "securityerror", 0, "aup#(?:cxthrt|cxmj)\\b", "cox.net" },
    { "rhost-cox-spam",        "spamdetected", 0, "aup#urlbl\\d+\\b", "cox.net" },
    { "rhost-cox-policy",      "policyviolation", 0, "esmtp no data before greeting|attachment extension is forbidden", "cox.net" },
    { "rhost-cox-system",      "systemerror", 0, "esmtp server temporarily not available", "cox.net" },
    { "rhost-cox-user",        "userunknown", 0, "recipient rejected", "cox.net" },
    /* Spectrum: "AUP#In-1310" and the like, by number range, for Charter
     * and the Time Warner Cable, Road Runner and Bright House domains its
     * mail platform took over. */
    { "rhost-spectrum-blocked","blocked", 0, "aup#\\D{0,4}(?:1000|12[0-4]\\d|1250)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-sender", "rejected", 0, "aup#\\D{0,4}(?:10[1-7]\\d|1080|15[02]0)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-system", "systemerror", 0, "aup#\\D{0,4}1090\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-ptr",    "requireptr", 0, "aup#\\D{0,4}(?:11[0-4]\\d|1150)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-policy", "policyviolation", 0, "aup#\\D{0,4}(?:11[6-8]\\d|1190|1560)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-network","networkerror", 0, "aup#\\D{0,4}1260\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-toomany","toomanyconn", 0, "aup#\\D{0,4}(?:13[0-3]\\d|1340)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-speeding","speeding", 0, "aup#\\D{0,4}(?:13[5-9]\\d|14\\d\\d|1540|1550|1580)\\b", RHOST_SPECTRUM },
    { "rhost-spectrum-toobig", "mesgtoobig", 0, "aup#\\D{0,4}1530\\b", RHOST_SPECTRUM },
    /* An AUP# code outside the ranges above, or a block in words; a
     * reply with neither ("550 5.1.1 ... recipient rejected") is read as
     * anywhere else. */
    { "rhost-spectrum-block",  "blocked", 0, "aup#|\\bblocked\\b", RHOST_SPECTRUM },
    /* i.ua: "see http://mail.i.ua/err/N/". */
    { "rhost-iua-relay",       "norelaying", 0, "\\.i\\.ua/err/[16]/", "email.ua" },
    { "rhost-iua-user2",       "userunknown", 0, "\\.i\\.ua/err/2/", "email.ua" },
    { "rhost-iua-suspend",     "suspend", 0, "\\.i\\.ua/err/3/", "email.ua" },
    { "rhost-iua-full",        "mailboxfull", 0, "\\.i\\.ua/err/4/", "email.ua" },
    { "rhost-iua-toomany",     "toomanyconn", 0, "\\.i\\.ua/err/5/", "email.ua" },
    { "rhost-iua-blocked",     "blocked", 0, "\\.i\\.ua/err/[79]/", "email.ua" },
    { "rhost-iua-sender",      "rejected", 0, "\\.i\\.ua/err/8/", "email.ua" },
    { "rhost-iua-filtered",    "filtered", 0, "\\.i\\.ua/err/10/", "email.ua" },
    { "rhost-iua-user",        "userunknown", 0, "^550 user unknown|user unknown|no such user", "iua.hu" },
    /* Mimecast's documented SMTP error codes. */
    { "rhost-mimecast-auth",   "authfailure", 0, "(?:spf|dkim|dmarc) sender invalid - envelope rejected", RHOST_MIMECAST },
    { "rhost-mimecast-reputation","badreputation", 0, "internal resources are temporarily unavailable|local ct ip reputation", RHOST_MIMECAST },
    /* "Too many invalid recipients": the sending host tried too many
     * addresses that do not exist and is refused for a while; no word on
     * this recipient, whom the "invalid recipient" below would call
     * unknown for good. */
    { "rhost-mimecast-block",  "blocked", 0, "sender address blocked|recipient temporarily unavailable|ip temporarily blacklisted|too many invalid recipients", RHOST_MIMECAST },
    { "rhost-mimecast-toobig", "mesgtoobig", 0, "maximum email size exceeded", RHOST_MIMECAST },
    { "rhost-mimecast-network","networkerror", 0, "incorrect hostname used for inbounds|mail loop detected", RHOST_MIMECAST },
    { "rhost-mimecast-relay",  "norelaying", 0, "open relay (?:is )?not allowed", RHOST_MIMECAST },
    { "rhost-mimecast-notaccept","notaccept", 0, "account inbounds disabled", RHOST_MIMECAST },
    { "rhost-mimecast-policy", "policyviolation", 0, "anti-spoofing policy|content examination policy|host network,? not allowed", RHOST_MIMECAST },
    { "rhost-mimecast-sender", "rejected", 0, "administrative prohibition envelope blocked|envelope blocked - user (?:domain )?entry|manually blocked senders|blocked senders - block policy|block policy for envelope from", RHOST_MIMECAST },
    { "rhost-mimecast-security","securityerror", 0, "incorrect authentication data|submitter failed to", RHOST_MIMECAST },
    { "rhost-mimecast-tls",    "securityerror", 0, "this route requires (?:encryption|tls|high-strength ciphers)|configuration is invalid for this certificate", RHOST_MIMECAST },
    /* Mimecast's own configuration (outbound disabled, omni-directional
     * hostnames, journaling): nothing said about the recipient. */
    { "rhost-mimecast-onhold", "onhold", 0, "account outbounds disabled|hostname is not authorized|journal message past expiration", RHOST_MIMECAST },
    { "rhost-mimecast-virus",  "virusdetected", 0, "email rejected due to security policies", RHOST_MIMECAST },
    { "rhost-mimecast-system", "systemerror", 0, "unable to process (?:connection|command|an email)|message ended early", RHOST_MIMECAST },
    { "rhost-mimecast-toomany","toomanyconn", 0, "account service is temporarily unavailable|too many recipients|exceeding outbound thread limit", RHOST_MIMECAST },
    { "rhost-mimecast-user",   "userunknown", 0, "invalid recipient|recipient address rejected|invalid address|503 user unknown", RHOST_MIMECAST },
    /* Symantec Email Security.cloud (MessageLabs). */
    { "rhost-mlabs-auth",      "authfailure", 0, "domain authentication fail", "messagelabs.com" },
    { "rhost-mlabs-reputation","badreputation", 0, "connection rejected by policy", "messagelabs.com" },
    { "rhost-mlabs-block",     "blocked", 0, "your ip is in the pbl|your ip address (?:\\S+ )?has been blocked", "messagelabs.com" },
    { "rhost-mlabs-relay",     "norelaying", 0, " as a relay, ", "messagelabs.com" },
    { "rhost-mlabs-sender",    "rejected", 0, "sender envelope domain not allowed|your (?:domain|email address) has been (?:blocked|blacklisted)|badmailfrom list", "messagelabs.com" },
    { "rhost-mlabs-user",      "userunknown", 0, "no such user|invalid recipient|mailbox is not allowed", "messagelabs.com" },
};

/* Status and reply codes inside diagnostic text (value "status" or
 * "reply"); the first match of each kind wins. A number after a reply
 * code makes it something else ("error: 500 000 bytes"), an address that
 * starts with digits does not ("550 12345@example.cn... No such user"). */
static const BounceRule table_status[] = {
    { "code-dsn-after-reply", "status", 1, "(?<!\\d)[245]\\d\\d[ -]['\"]?#?([245]\\.\\d{1,3}\\.\\d{1,3})(?![\\d.]*\\d)", NULL },
    { "code-dsn-hash",        "status", 1, "[#(]([245]\\.[0-7]\\.\\d{1,3})(?![\\d]|\\.\\d)", NULL },
    { "code-dsn-status",      "status", 1, "status:?\\s*([245]\\.\\d{1,3}\\.\\d{1,3})(?![\\d]|\\.\\d)", NULL },
    { "code-dsn-any",         "status", 1, "(?<![\\d.\\w])([245]\\.[0-7]\\.\\d{1,3})(?![\\d]|\\.\\d)", NULL },
    /* Sendmail's heading may come first when the address was listed
     * above it (Active!hunter: "----- Transcript of session follows -----
     * 550 ..."). */
    { "code-reply-start",     "reply",  1, "^\\s*(?:-+ transcript of session follows -+\\s*)?(?:smtp;|x-[\\w-]+;)?\\s*<?([245][0-5]\\d)(?:[ -]|:\\s|$)", NULL },
    { "code-reply-transcript","reply",  1, "<<<\\s*([245][0-5]\\d)(?:[ -]|$)", NULL },
    { "code-reply-doubled",   "reply",  1, "(?<![\\d.])([245][0-5]\\d) \\1(?![\\d.])", NULL },
    { "code-reply-said",      "reply",  1, "(?:said|says|returned|replied|response(?:code)?|error_code|error|reply|server message|problem|host \\S+ \\[[\\d.:a-f]+\\]|\\]|:)\\s*:?\\s*<?['\"]?([245][0-5]\\d)(?:[ ,-]|$)(?!\\d(?![\\w.+=-]*@))", NULL },
    /* A CJK notice puts the remote reply in full-width brackets:
     * "收件人地址不存在（550 User not found: x@y）". */
    { "code-reply-fullwidth", "reply",  1, "\\x{FF08}([245][0-5]\\d)(?= )", NULL },
    { "code-reply-before-dsn","reply",  1, "(?<![\\d.])([245][0-5]\\d)[ -]#?[245]\\.\\d{1,3}\\.\\d{1,3}", NULL },
    /* Cisco AsyncOS quotes the remote reply as a Python tuple: "5.1.0 -
     * Unknown address error ('550', ['5.1.1 <x>... User unknown'])". */
    { "code-reply-tuple",     "reply",  1, "\\(\\s*'([245][0-5]\\d)',\\s*\\[", NULL },
};

/* Wording of a delay (not yet failed) notice. */
static const BounceRule table_delayed[] = {
    /* Said of a recipient whose status is 4.x.x (or whose 4xx reply has
     * no status): the sender stopped trying, so the failure is final
     * (qmail: "I'm not going to try again; this message has been in the
     * queue too long."). Value: the action. First, so it wins over the
     * wording of a delay. Exim heads every address it returns with "This
     * is a permanent error", a 452 after its retries included; Sendmail
     * with "permanent fatal errors". */
    { "gave-up",         "failed", 0, "\\bnot going to try again\\b|\\bi(?:'ve| have) given up\\b|\\bthis is a permanent error\\b|\\bhad permanent fatal errors\\b", NULL },
    /* "We have given up"; "giving up" as the notice's last word on the
     * address ("Could not deliver for the last 432000 seconds. Giving
     * up.", "after multiple retries, giving up"), not a delay's "will
     * keep trying for 5 days before giving up", nor qmail's "Giving up
     * on 192.0.2.25." (one of the hosts it tries). */
    { "gave-up-words",   "failed", 0, "\\bwe(?:'ve| have) (?:now )?given up\\b|\\bgiving up\\b(?! on\\b)(?<!before giving up)(?<!until giving up)(?<!not giving up)(?<!without giving up)", NULL },
    { "delay-warning",   NULL, 0, "^(?:warning: )?(?:message|mail) (?:delivery )?(?:delayed|has been delayed|is delayed)|delivery (?:has been |is )?delayed|this is a warning message only|will continue (?:trying|to try)|will keep trying|will retry|still trying|still undelivered after|delivery attempts will continue|delivery of (?:this|your) message has been delayed", NULL },
    /* "Your message ... is still being retried", Exchange's "This message
     * hasn't been delivered yet", Domino's "has not yet been delivered to
     * the following recipients": not yet is no failure. */
    { "delay-not-yet",   NULL, 0, "\\bstill being retried\\b|\\bha(?:s|ve) not yet been delivered\\b|\\b(?:has|have)(?:n't|n’t| not) been delivered yet\\b", NULL },
};

/* Wording of a delivery that worked, in a recipient's text with no code of
 * its own: a success notice (NOTIFY=SUCCESS) that reached us without its
 * machine-readable part, or sent as text only. value is the action. */
static const BounceRule table_delivered[] = {
    /* Postfix, Dovecot: "<a@b>: delivery via local: delivered to mailbox" */
    { "delivered-mailbox", "delivered", 0, "\\bdelivered to (?:mailbox|maildir|command|file)\\b|\\bdelivery via [^:\\n]+: delivered\\b|\\bdelivered via \\S+ service\\b", NULL },
    { "delivered-successfully", "delivered", 0, "(?<!not |be |been |never )\\bsuccessfully delivered\\b", NULL },
};

/* The opening words of notices that only ever report deliveries that
 * worked, or only delays, for recipients listed without words of their
 * own. value is the action. */
static const BounceRule table_delivered_notice[] = {
    /* Exchange's relay notice ("Relayed: ..."): "Delivery to these
     * recipients or groups is complete, but no delivery notification was
     * sent by the destination server" */
    { "delivered-relayed", "relayed", 0, "\\bdelivery to (?:these|the following) recipients(?: or groups)? (?:is|was) complete\\b", NULL },
    /* Postfix's success notice */
    { "delivered-notice", "delivered", 0, "\\byour message was successfully delivered to the destination|\\byour message has been delivered to the following recipients\\b|\\b(?:was|were|has been) successfully delivered to the following recipients\\b", NULL },
    /* A gateway's word that the message reached the recipient after all:
     * released from quarantine ("it has now been delivered to the
     * recipient"), or cleaned of an attachment ("the message was
     * delivered to the recipient without it"; ESET's German "an den
     * Empfänger zugestellt"). No failure to count. Of one recipient only:
     * a notice about several that says some got it goes on to say who did
     * not. */
    { "delivered-anyway", "delivered", 0, "\\b(?:has|was)(?:\\s+now)?\\s+(?:been\\s+)?delivered\\s+to\\s+the\\s+recipient\\b|\\ban\\s+den\\s+empf\\x{00e4}nger\\s+zugestellt\\b", NULL },
    /* IIS SMTP's relay notice */
    { "relayed-notice", "relayed", 0, "\\b(?:was|were|has been) successfully relayed to the following recipients\\b", NULL },
    /* Notices that only ever report delays, when the delivery-status
     * part is lost: Postfix's "THIS IS A WARNING ONLY.  YOU DO NOT NEED
     * TO RESEND YOUR MESSAGE.", Exim's "has not yet been delivered to one
     * or more of its recipients after more than", Gmail's "Delivery to
     * the following recipients has been delayed", Sendmail's "Warning:
     * message still undelivered after 4 hours". */
    { "delayed-notice", "delayed", 0, "\\bthis is a warning only\\b[.\\s#]*you do not need to resend your message\\b|\\bhas not yet been delivered to one or more of its\\s+recipients after more than\\b|\\bdelivery to the following recipients? (?:has been|is) delayed\\b|^warning: message still undelivered after\\b", NULL },
    /* OpenSMTPD's warning: "A message is delayed for more than 4 hours
     * for the following list of recipients:", closing with "Please note
     * that this is only a temporary failure report."; its later builds
     * open with "Delivery of your message has been delayed, we'll keep
     * trying." over the recipients' lines. */
    { "delayed-notice-opensmtpd", "delayed", 0, "\\ba message is delayed for more than\\b|\\bthis is only a temporary failure report\\b|\\bdelivery of your message has been delayed, we(?:'|\\x{2019})ll keep trying\\b", NULL },
    /* Courier's delay notice ("WARNING: delayed mail."), whose
     * delivery-status part may be lost on the way: "DELAYS IN DELIVERING
     * YOUR MESSAGE ... Delivery attempts are continuing". */
    { "delayed-notice-courier", "delayed", 0, "\\bdelays in delivering your message\\b|\\bdelivery attempts are continuing\\b", NULL },
};

/* Subjects of complaints that come without an ARF part (Hotmail JMRP and
 * the like). */
static const BounceRule table_complaint_subject[] = {
    { "complaint-subject", NULL, 0, "^\\s*complaint about message from|^\\s*(?:abuse|spam|fbl) (?:report|complaint)\\b", NULL },
};

/* The SMTP command the failure answered; the last one in a transcript
 * counts. value is the command when the rule itself says which (RCPT, MAIL,
 * DATA, HELO, CONN); NULL takes it from the captured word. Words may be
 * split over lines where the text was wrapped. */
static const BounceRule table_command[] = {
    { "cmd-postfix",   NULL, 1, "in\\s+reply\\s+to\\s+(rcpt\\s+to|mail\\s+from|end\\s+of\\s+data|data|ehlo|helo|rset|quit)\\s+command", NULL },
    { "cmd-sendmail",  NULL, 1, ">>> (rcpt|mail|data|ehlo|helo)\\b", NULL },
    /* Sendmail: a reply read right after connecting, before any command
     * was sent, refused the greeting. */
    { "cmd-sendmail-greeting", "HELO", 0, "while talking to [^\\n]*:[ \\t]*\\n[ \\t]*<<< ", NULL },
    { "cmd-exim",      NULL, 1, "after\\s+(rcpt\\s+to|rcpt|mail\\s+from|end\\s+of\\s+data|data|ehlo|helo|initial\\s+connection)\\b", NULL },
    { "cmd-bracket",   NULL, 1, "\\[(rcpt_to|mail_from|data)\\]", NULL },
    { "cmd-named",     NULL, 1, "smtp command:?\\s*(rcpt|mail|data|ehlo|helo)\\b", NULL },
    { "cmd-to-addr",   NULL, 1, "^\\s*(rcpt to):?\\s*<", NULL },
    { "cmd-qmail",     NULL, 1, "(?:most progress was|did not like our|error following) (rcpt|mail|data)", NULL },
    { "cmd-qmail-rcpt",NULL, 1, "does not like (recipient)", NULL },
    { "cmd-qmail-data",NULL, 1, "(?:failed )?(?:after|during) i sent the (message)", NULL },
    { "cmd-colon",     NULL, 1, "\\bsmtp:(rcpt|mail|data)\\b", NULL },
    { "cmd-sent",      NULL, 1, "\\bsent <<< (rcpt|mail|data)\\b", NULL },
    /* Stalwart: "host 'mx.example.jp' rejected command 'RCPT TO:<x@y>'". */
    { "cmd-rejected",  NULL, 1, "\\brejected command '(rcpt\\s+to|mail\\s+from|data|bdat|ehlo|helo)\\b", NULL },
    { "cmd-text",      "DATA", 0, "\\bfor text command\\b", NULL },
    /* qmail: "Connected to 192.0.2.1 but sender was rejected." */
    { "cmd-qmail-sender", "MAIL", 0, "\\bbut sender was rejected\\b", NULL },
    { "cmd-qmail-name",   "HELO", 0, "\\bbut my name was rejected\\b", NULL },
    { "cmd-refused-talk", "CONN", 0, "\\brefused to talk to me\\b", NULL },
    /* Gmail names the stage of its own SMTP session that failed as
     * "(state N)". */
    { "cmd-gmail-state-mail", "MAIL", 0, "\\(state 6\\)", NULL },
    { "cmd-gmail-state-helo", "HELO", 0, "\\(state 13\\)", NULL },
    { "cmd-gmail-state-rcpt", "RCPT", 0, "\\(state 14\\)", NULL },
    { "cmd-gmail-state-data", "DATA", 0, "\\(state 1[578]\\)", NULL },
};

/* Error codes a vendor documents with one meaning, and wording no one
 * else uses: they decide wherever they appear, before the generic wording
 * (which would read them by their common words). */
static const BounceRule table_vendor_reason[] = {
    /* Microsoft Exchange: the categorizer (RESOLVER), queue and SMTP send
     * components name the failure in the NDR. */
    /* Hotmail's (later Outlook.com's) DY-001: the sending IP is dynamic
     * or residential; said "for policy reasons", but a block of the
     * sending host. */
    { "hotmail-dynamic-ip",  "blocked",       0, "\\bdy-001\\b|(?:do not|don't) accept (?:e-?mail|mail) from dynamic ip", NULL },
    { "exch-recipnotfound",  "userunknown",   0, "\\bresolver\\.adr\\.(?:ex)?recip(?:ient)?notfound\\b", NULL },
    { "exch-reciplimit",     "toomanyconn",   0, "\\bresolver\\.adr\\.reciplimit\\b", NULL },
    /* RESOLVER.ADR.InvalidInSmtp is not here: it comes with 5.1.0 (the
     * address is bad), and that code decides, as for any other MTA. */
    { "exch-resolver-error", "systemerror",   0, "\\bresolver\\.adr\\.(?:badprimary|ambiguous)\\b", NULL },
    /* 5.7.133-5.7.136: a group, mailbox or public folder that takes mail
     * from its own organisation only refused an outside sender. */
    { "exch-sendernotauth",  "rejected",      0, "\\bresolver\\.rst\\.sendernotauthenticatedfor(?:group|mailbox|publicfolder)\\b|sender (?:was )?not authenticated for (?:group|mailbox|public folder)|\\bsender was not authenticated\\b", NULL },
    /* Exchange refusing the From address our account may not send as
     * ("554 5.2.252 SendAsDenied; ... not allowed to send as ...", 5.7.60
     * "Client does not have permissions to send as this sender"): our
     * sender is refused, not the recipient's mailbox its 5.2.x names. */
    { "exch-sendasdenied",   "rejected",      0, "\\bsendasdenied|client does not have permissions to send as this sender", NULL },
    { "exch-authrequired",   "securityerror", 0, "\\bresolver\\.rst\\.authrequired\\b", NULL },
    /* cPanel's Exim refusing to relay for a host that did not log in says
     * "is not permitted to relay through this server without
     * authentication" after the same "Please turn on SMTP Authentication in
     * your mail client" as MessageLabs (its reply's lines, folded, may
     * repeat the code): the host was refused as a relay, the recipient's
     * domain is not one the server takes mail for. */
    { "cpanel-relay-auth",   "norelaying",    0, "not permitted to relay through (?:[45]\\d\\d[ -])?this server without authentication", NULL },
    /* MessageLabs (Symantec) refusing to relay for a client that did not
     * log in: the cure it names is authentication, not another relay. */
    { "messagelabs-smtpauth","securityerror", 0, "please turn on smtp authentication in your mail client", NULL },
    /* 5.7.1 RESOLVER.RST.NotAuthorized: the sender may not send to this
     * recipient (a restricted group or mailbox). */
    { "exch-notauthorized",  "rejected",      0, "\\bresolver\\.rst\\.notauthorized\\b", NULL },
    { "exch-recipsizelimit", "mesgtoobig",    0, "\\bresolver\\.rst\\.(?:recip|send)sizelimit\\b", NULL },
    { "exch-queue-expired",  "expired",       0, "\\bqueue\\.expired\\b", NULL },
    { "exch-nodomain",       "hostunknown",   0, "\\bsmtpsend\\.dns\\.nonexistentdomain\\b", NULL },
    { "exch-mxloopback",     "networkerror",  0, "\\bsmtpsend\\.dns\\.mxloopback\\b", NULL },
    /* Exchange Online's directory-based edge blocking: the address is
     * not in the tenant's directory. "AS(201806281)" is its documented
     * tag; 5.4.1 with these words is no other system's. */
    { "exch-dbeb",           "userunknown",   0, "\\b5\\.4\\.1 .{0,80}recipient address rejected: access denied|\\brecipient address rejected: access denied\\. as\\(201806281\\)", NULL },
    /* Gmail's relay names the stage of its session that the remote server
     * refused: "(state 18)" is the message refused after DATA. A precise
     * status code in the reply says more and wins. */
    { "gmail-state-data",    "filtered",      0, "\\A(?![\\s\\S]*\\b[45]\\.[1-7]\\.[1-9]\\b)[\\s\\S]*google tried to deliver your message[\\s\\S]*\\(state 1[578]\\)", NULL },
    { "gmail-state-relay",   "norelaying",    0, "\\A(?![\\s\\S]*\\b[45]\\.[1-7]\\.[1-9]\\b)[\\s\\S]*google tried to deliver your message[\\s\\S]*\\(state 12\\)", NULL },
    { "gmail-state-helo",    "blocked",       0, "\\A(?![\\s\\S]*\\b[45]\\.[1-7]\\.[1-9]\\b)[\\s\\S]*google tried to deliver your message[\\s\\S]*\\(state 13\\)", NULL },
    { "gmail-state-system",  "systemerror",   0, "\\A(?![\\s\\S]*\\b[45]\\.[1-7]\\.[1-9]\\b)[\\s\\S]*google tried to deliver your message[\\s\\S]*\\(state (?:6|8|9)\\)", NULL },
    /* Gmail's "DNS Error: DNS server returned answer with no data": the
     * domain has no address to deliver to, not a lookup that failed. */
    { "gmail-dns-nodata",    "hostunknown",   0, "dns error: dns server returned answer with no data", NULL },
    /* Facebook's documented response codes. */
    { "fb-user",             "userunknown",   0, "\\b(?:rcp-p1|int-p[134])\\b", NULL },
    { "fb-filtered",         "filtered",      0, "\\brcp-p[23]\\b", NULL },
    { "fb-suspend",          "suspend",       0, "\\brcp-t4\\b", NULL },
    { "fb-blocked",          "blocked",       0, "\\bpol-p[12]\\b", NULL },
    { "fb-notaccept",        "notaccept",     0, "\\bpol-(?:p[34]|t[123])\\b", NULL },
    { "fb-virus",            "virusdetected", 0, "\\bpol-p5\\b", NULL },
    { "fb-content",          "contenterror",  0, "\\b(?:msg-p[23]|pol-p[67])\\b", NULL },
    { "fb-toobig",           "mesgtoobig",    0, "\\b(?:msg-p1|int-p2)\\b", NULL },
    { "fb-sender",           "rejected",      0, "\\bdns-(?:p[123]|t[12])\\b", NULL },
    { "fb-system",           "systemerror",   0, "\\b(?:con-t1|rcp-t1)\\b", NULL },
    { "fb-toomanyconn",      "toomanyconn",   0, "\\bcon-t[23]\\b", NULL },
    /* Exchange 5.5-2003: the MTS code after the error text. */
    { "exch2003-user",       "userunknown",   0, "\\(000c05a6\\)", NULL },
    { "exch2003-filtered",   "filtered",      0, "\\(000c0595\\)", NULL },
    /* 00010256 is "Too many recipients.": the same as Exchange 2007's
     * RESOLVER.ADR.RecipLimit (exch-reciplimit). */
    { "exch2003-toomany",    "toomanyconn",   0, "\\(00010256\\)", NULL },
    { "exch2003-system",     "systemerror",   0, "\\(000d06b5\\)", NULL },
    { "exch2003-network",    "networkerror",  0, "\\(00120270\\)", NULL },
    { "exch2003-content",    "contenterror",  0, "\\((?:00050311|000502cc)\\)", NULL },
    { "exch2003-security",   "securityerror", 0, "\\(000b0981\\)", NULL },
    /* qmail-ldap's qmail-smtpd refusing the connecting host's address
     * ("553 sorry, mail from your location [192.0.2.1] is administratively
     * denied (#5.7.1)"), at MAIL FROM: the sending host is blocked, not
     * our sender, and its 5.7.1 says no more. */
    { "qmail-location",      "blocked",       0, "mail from your location (?:\\[[0-9a-f.:]+\\] )?is administratively denied", NULL },
    /* GMX, web.de and 1&1 check the sender's domain at MAIL FROM:
     * "Requested action not taken: mailbox unavailable / invalid DNS MX or
     * A/AAAA resource record" is about our sender's domain, not the
     * recipient's mailbox its first words name. */
    { "gmx-sender-dns",      "rejected",      0, "invalid dns mx or a/aaaa resource record", NULL },
    /* A server short of disk space: "550 Requested action not taken:
     * mailbox unavailable (not enough free space)" refuses the address
     * for want of room, not because there is no such mailbox, as its
     * first words would say. */
    { "mailbox-unavailable-space", "systemfull", 0, "mailbox unavailable \\(not enough free space\\)", NULL },
    /* Exchange Online's "[example.com] does not accept email over IPv6"
     * (with 5.7.510, or 5.2.1 in its older wording): our host came over
     * IPv6, and the domain takes mail over IPv4. The sending host's
     * connection was refused (blocked), not the domain's mail (Sisimai:
     * notaccept, a hard answer for an address that works). */
    { "ms-ipv6-refused",     "blocked",       0, "does not accept (?:e-?mail|mail|messages) over ipv6", NULL },
    /* A null MX (RFC 7505): the domain says it takes no mail at all. */
    { "null-mx",             "notaccept",     0, "\\bnull ?mx\\b|couldn't find a mail exchanger or ip address|does not accept mail \\(nullmx\\)", NULL },
    /* Outlook.com's lookup of an address it does not have, as Exchange
     * Online's 5.1.10: "550 5.5.0 Requested action not taken: mailbox
     * unavailable (S2017062302)". */
    { "outlook-no-mailbox",  "userunknown",   0, "\\(s2017062302\\)", NULL },
    /* Vade's OXSUS0001_101: the sending IP is on Vade's threat network;
     * its "Connection refused" is a refusal, not a host that did not
     * answer. */
    { "vade-ip-listed",      "blocked",       0, "\\boxsus0*1_101\\b", NULL },
    /* Security gateways' own codes for a refusal their 5.7.1 does not
     * explain: Sophos's XGEMAIL_0011 (no such recipient in the protected
     * domain) and XGEMAIL_0004 (the sending IP on a block list), Trend
     * Micro's BLOCK-SEND-ER (a sender the administrator blocked). */
    { "sophos-no-recipient", "userunknown",   0, "\\bxgemail_0011\\b", NULL },
    { "sophos-ip-listed",    "blocked",       0, "\\bxgemail_0004\\b", NULL },
    { "trend-blocked-sender","rejected",      0, "\\bblock-send-er\\b", NULL },
};

/* Which MTA or mail gateway wrote the bounce: a header only it sets
 * (rhost names the header; "\\A" is any value) or its own wording in the
 * text (rhost NULL). The first rule that matches names the MTA. */
static const BounceRule table_mta[] = {
    /* Google Groups refusing a post, for a group of googlegroups.com or of
     * a Workspace domain: its own letter, in the sender's language. The
     * Help Center's address is the same in every language. */
    { "mta-googlegroups",  "googlegroups", 0, "the group you tried to contact \\(|you do not have permission to post to this group|^google groups\\s*$|^google グループ\\s*$|groups\\.google\\.com/support\\b", NULL },
    { "mta-mcafee",        "mcafee",       0, "modified by mcafee", "X-NAI-Header" },
    { "mta-messagelabs",   "messagelabs",  0, "\\A", "X-Msg-Ref" },
    { "mta-messagelabs-from","messagelabs",0, "mailer-daemon@messagelabs\\.com", "From" },
    { "mta-domino",        "domino",       0, "^delivery(?: |_)failure:", "Subject" },
    { "mta-workmail",      "workmail",     0, "amazon workmail", "X-Mailer" },
    { "mta-receivingses",  "receivingses", 0, "^this message could not be delivered\\.", NULL },
    { "mta-aol",           "aol",          0, "\\A", "X-AOL-IP" },
    { "mta-yahoo",         "yahoo",        0, "\\A", "X-YMailISG" },
    { "mta-gsuite",        "gsuite",       0, "\\A", "X-Gm-Message-State" },
    { "mta-office365",     "office365",    0, "\\A", "X-MS-Exchange-Message-Is-NDR" },
    { "mta-outlook",       "outlook",      0, "\\A", "X-Message-Delivery" },
    { "mta-outlook-info",  "outlook",      0, "\\A", "X-Message-Info" },
    { "mta-outlook-from",  "outlook",      0, "postmaster@(?:hotmail|outlook|live|msn)\\.com", "From" },
    { "mta-verizon",       "verizon",      0, "\\.vtext\\.com \\(", "Received" },
    { "mta-verizon-from",  "verizon",      0, "post_master@vtext\\.com|sysadmin@\\S*vzwpix\\.com", "From" },
    { "mta-notes",         "notes",        0, "^-+ failure reasons\\s*-+\\s*$", NULL },
    /* Domino's router stamps what it sends (\"Serialize by Router on ...\"). */
    { "mta-domino-router", "domino",       0, "\\bby router on\\b", "X-MIMETrack" },
    { "mta-interscan",     "interscan",    0, "^\"?interscan (?:mss|notification)", "From" },
    { "mta-zoho",          "zoho",         0, "\\A", "X-ZohoMail" },
    { "mta-zoho-from",     "zoho",         0, "mailer-daemon@(?:mail\\.)?zoho(?:mail)?\\.(?:com|eu|in|jp|com\\.au)\\b", "From" },
    { "mta-exim",          "exim",         0, "^this message was created automatically by mail delivery software\\.", NULL },
    /* qmail-send's letter, also from qmail-ldap and netqmail. */
    { "mta-qmail",         "qmail",        0, "^hi\\. this is the qmail-send program at ", NULL },
    /* OpenSMTPD's letter and Courier's notice, in their own words. */
    { "mta-opensmtpd",     "opensmtpd",    0, "this is the mailer-daemon, please do not reply to this e-?mail", NULL },
    { "mta-courier",       "courier",      0, "running the courier mail server|^courier mail server at ", NULL },
    { "mta-fml",           "fml",          0, "\\bfml\\b", "X-MLServer" },
    { "mta-imail",         "imail",        0, "^<smtp32 v", "X-Mailer" },
    { "mta-imail-subject", "imail",        0, "^undeliverable mail\\s*$", "Subject" },
    { "mta-biglobe",       "biglobe",      0, "postmaster@(?:biglobe|inacatv|tmtv|ttv)\\.ne\\.jp", "From" },
    { "mta-amavis",        "amavis",       0, "^\"?content-filter at ", "From" },
    { "mta-ezweb",         "ezweb",        0, "postmaster@(?:ezweb\\.ne\\.jp|au\\.com)", "From" },
    /* au by KDDI's own relays; after EZweb, whose bounces pass them too. */
    { "mta-kddi",          "kddi",         0, "no-reply@\\S*\\.dion\\.ne\\.jp", "From" },
    { "mta-kddi-reply-to", "kddi",         0, "no-reply@app\\.auone-net\\.jp", "Reply-To" },
    { "mta-kddi-received", "kddi",         0, "ezweb\\.ne\\.jp \\(|\\.au\\.com \\(", "Received" },
};

/* Each MTA's own wording (rhost: the MTA's name from table_mta), as the
 * MTA's documentation or source states it: it decides before the generic
 * rules, as the MTA knows what it meant. */
static const BounceRule table_mta_reason[] = {
    /* An address's local part stops at its first "@": ".+@.+" would try
     * every "@" of a long line as the one, and every end as the ")". */
    { "mcafee-user",       "userunknown",   0, "user \\([^\\s()@]+@[^\\s()]+\\) unknown\\.|550 unknown user \\S+@\\S+|550 <[^<>@]+@[^<>]+>\\.+ user not exist|no such user", "mcafee" },
    /* MessageLabs answers a recipient it will not take with the address
     * and one word ("542 x@y Rejected", "550 Recipient Rejected"): the
     * whole reply, not a refusal of the message that says more. */
    { "messagelabs-user",  "userunknown",   0, "542 .+ rejected|(?:\\S+@\\S+|\\brecipient) rejected[ \\t]*$|no such user", "messagelabs" },
    { "notes-user",        "userunknown",   0, "user not listed in public name & address book|ディレクトリのリストにありません", "notes" },
    { "notes-hops",        "networkerror",  0, "message has exceeded maximum hop count", "notes" },
    { "domino-user",       "userunknown",   0, "not listed in (?:domino directory|public name & address book)|non répertorié dans l'annuaire domino|domino ディレクトリには見つかりません", "domino" },
    { "domino-route",      "filtered",      0, "cannot route mail to user", "domino" },
    { "domino-full",       "mailboxfull",   0, "mail ?file is full|mail file (?:has )?exceeded its quota|exceeds? (?:the )?(?:mail file )?quota", "domino" },
    { "domino-nofile",     "systemerror",   0, "unable to deliver to .+: file does not exist", "domino" },
    { "domino-ambiguous",  "systemerror",   0, "several matches found in domino directory", "domino" },
    { "receivingses-filtered","filtered",   0, "mailbox does not exist", "receivingses" },
    { "receivingses-toobig","mesgtoobig",   0, "message too large", "receivingses" },
    { "receivingses-full", "mailboxfull",   0, "mailbox full", "receivingses" },
    { "receivingses-content","contenterror",0, "message content rejected", "receivingses" },
    /* Postfix's "Host or domain name not found. Name service error for
     * name=x type=MX: Malformed or unexpected name server reply": the
     * domain's name servers answer its MX query with nonsense, so it takes
     * no mail, which the first words alone would call an unknown host. */
    { "aol-nullmx",        "notaccept",     0, "type=mx: malformed or unexpected name server reply", "aol" },
    { "aol-host",          "hostunknown",   0, "host or domain name not found", "aol" },
    { "gsuite-user",       "userunknown",   0, "because the address couldn't be found\\. check for typos", "gsuite" },
    { "outlook-host",      "hostunknown",   0, "the mail could not be delivered to the recipient because the domain is not reachable", "outlook" },
    { "outlook-user",      "userunknown",   0, "requested action not taken: mailbox unavailable", "outlook" },
    { "verizon-user",      "userunknown",   0, "requested action not taken: no such user here|no valid recipients for this mm", "verizon" },
    { "imail-host",        "hostunknown",   0, "unknown host", "imail" },
    { "imail-user",        "userunknown",   0, "^(?:unknown user|invalid final delivery userid)", "imail" },
    { "imail-full",        "mailboxfull",   0, "^user mailbox exceeds allowed size", "imail" },
    { "imail-virus",       "virusdetected", 0, "^requested action not taken: virus detected", "imail" },
    { "imail-expired",     "expired",       0, "^delivery failed \\d+ attempts", "imail" },
    { "biglobe-filtered",  "filtered",      0, "mail delivery failed\\.\\.\\. user unknown", "biglobe" },
    { "biglobe-full",      "mailboxfull",   0, "the number of messages in recipient's mailbox exceeded the local limit", "biglobe" },
    /* OpenSMTPD's own reasons (mta.c, mta_session.c), written after the
     * recipient with no code when it gave up without a remote reply. */
    { "opensmtpd-expired", "expired",       0, "envelope expired", "opensmtpd" },
    { "opensmtpd-host",    "hostunknown",   0, "invalid domain name|domain does not exist", "opensmtpd" },
    { "opensmtpd-notaccept","notaccept",    0, "destination seem to reject all mails", "opensmtpd" },
    { "opensmtpd-network", "networkerror",  0, "address family mismatch on destination mxs|all routes to destination blocked|bad dns lookup error code|could not retrieve source address|loop detected|network error on destination mxs|no mx found for (?:domain|destination)|no valid route to (?:remote mx|destination)|temporary failure in mx lookup", "opensmtpd" },
    { "opensmtpd-security","securityerror", 0, "could not retrieve credentials", "opensmtpd" },
    /* Courier's esmtp client, when no remote server answered. */
    { "courier-host",      "hostunknown",   0, "no such domain\\.", "courier" },
    { "courier-dns",       "systemerror",   0, "this domain's dns violates rfc 1035", "courier" },
    { "courier-network",   "networkerror",  0, "dns lookup failed\\.", "courier" },
    { "amavis-spam",       "spamdetected",  0, " - spam(?:my)?\\b", "amavis" },
    { "amavis-virus",      "virusdetected", 0, " - infected\\b", "amavis" },
    { "amavis-banned",     "policyviolation", 0, " - banned\\b", "amavis" },
    { "amavis-header",     "contenterror",  0, " - bad header:", "amavis" },
    { "amavis-size",       "exceedlimit",   0, " - message size exceeds recipient", "amavis" },
    { "amavis-relay",      "systemerror",   0, " - (?:temporary mta failure on relaying|rejected by next-hop mta on relaying|unable to relay message back to mta)", "amavis" },
    /* Not over the reply it quotes after it ("Received >>> 552 5.2.2 ...
     * Mailbox full", in Japanese "受信 <<< 550 ..."): that reply says why. */
    { "interscan-user",    "userunknown",   0, "unable to deliver(?![^\\n]*(?:>>>|<<<)[ \\t]+[245]\\d\\d\\b)", "interscan" },
    /* Microsoft 365's own codes in its NDRs (its NDR reference): the
     * service refused, whatever the rest of the line says. 5.7.511 is our
     * sender banned, 5.7.12, 5.7.13 and 5.7.124 a sender the recipient's
     * organisation does not take, 5.7.510 a domain that takes no mail over
     * IPv6, 5.7.512 a message that breaks its rules (RFC 5322 3.6.2),
     * 5.7.70x-74x a tenant over its limits, 5.0.350 the receiving
     * server's error about the message, 4.7.5xx, 4.7.6xx, 4.7.85x-89x and
     * 5.7.61x-64x the sending host or its IP blocked. 5.7.12, 5.7.13 and
     * 5.7.124 can also be the last octets of an IP address a reply quotes
     * ("relay 10.5.7.12"), or the start of a version: not when a digit and
     * a dot come before or a dot and a digit after. */
    { "office365-rejected","rejected",      0, "\\b5\\.7\\.(?:1[23]|124|511)\\b(?!\\.\\d)(?<!\\d\\.5\\.7\\.1[23]|\\d\\.5\\.7\\.124)", "office365" },
    { "office365-policy",  "policyviolation", 0, "\\b5\\.7\\.512\\b", "office365" },
    /* 5.7.510 "does not accept email over IPv6": our host came over IPv6
     * and the domain takes mail over IPv4 (Sisimai: notaccept, which
     * would suppress a working address for good). The sending host's
     * connection was refused: blocked. */
    { "office365-ipv6",    "blocked",       0, "\\b5\\.7\\.510\\b", "office365" },
    { "office365-toomanyconn","toomanyconn",0, "\\b5\\.7\\.7[0-4]\\d\\b", "office365" },
    { "office365-content", "contenterror",  0, "\\b5\\.0\\.350\\b", "office365" },
    { "office365-blocked", "blocked",       0, "\\b4\\.7\\.(?:[56]\\d\\d|8[5-9]\\d)\\b|\\b5\\.7\\.6[1-4]\\d\\b", "office365" },
    /* Exim's own messages (its source: route.c, dnslookup.c, smtp.c). Exim
     * writes its routing failures with no reply code; the same words after
     * one are a remote server's reply, which quotes them when its callout
     * to our sender failed ("550-Verification failed for <sender>",
     * "550-Unrouteable address", "550 Sender verify failed"): the generic
     * rules read those. */
    { "exim-user",         "userunknown",   0, "user not found", "exim" },
    { "exim-host",         "hostunknown",   0, "all host address lookups failed permanently(?<![0-9][ -]all host address lookups failed permanently)|all relevant mx records point to non-existent hosts(?<![0-9][ -]all relevant mx records point to non-existent hosts)|unrouteable address(?<![0-9][ -]unrouteable address)", "exim" },
    { "exim-notaccept",    "notaccept",     0, "an mx or srv record indicated no smtp service|no host found for existing smtp connection", "exim" },
    /* A pipe that failed is the delivery program's failure, whatever
     * Exim adds ("local delivery failed"). */
    { "exim-pipe",         "mailererror",   0, "\\bpipe to \\|\\s*/", "exim" },
    { "exim-system",       "systemerror",   0, "delivery to (?:file|pipe) forbidden|local delivery failed|lmtp error after ", "exim" },
    { "exim-content",      "contenterror",  0, "too many \"received\" headers", "exim" },
    /* qmail's local delivery (qmail-local: "Unable to switch to
     * /home/x: file does not exist. (#4.3.0)", a filter's "bad
     * interpreter") and qmail-ldap's own failures (its LDAP lookups,
     * home directory creation, qmail-forward): the receiving system's
     * trouble, not the address's, whatever status code comes with it. */
    { "qmail-local",       "systemerror",   0, "^unable to (?:switch to|chdir to|open|read|write|forward|run|stat|create|link|access|rename|lock|start|fork|execute|deliver to (?:maildir|mbox))\\b|bad interpreter: no such file or directory", "qmail" },
    { "qmail-ldap-system", "systemerror",   0, "automatic homedir creator crashed|illegal value in ldap attribute|ldap attribute is not given but mandatory|timeout while performing search on ldap server|too many results returned but needs to be unique|(?:permanent|temporary) error while executing qmail-forward|temporary error in automatic homedir creation|temporary failure in ldap lookup|unable to (?:contact ldap server|login into ldap server)", "qmail" },
    { "fml-rejected",      "rejected",      0, "not member article from|\\bare not member\\b|reject mail (?:from \\S+@|since .+ header may cause mail loop)|reject spammers:|you are not a member of this mailing list|spam mail from a spammer is rejected", "fml" },
    { "fml-loop",          "systemerror",   0, "duplicated message-id|has detected a loop condition|loop back warning|loop alert|^fml system error message|^warning: unix from loop", "fml" },
    { "fml-security",      "securityerror", 0, "security alert", "fml" },
    { "ezweb-full",        "mailboxfull",   0, "the user\\(s\\) account is temporarily over quota", "ezweb" },
    { "ezweb-suspend",     "suspend",       0, "the user\\(s\\) account is (?:disabled|temporarily limited)\\.", "ezweb" },
    { "ezweb-expired",     "expired",       0, "your message was not delivered within ", "ezweb" },
    /* "Each of the following recipients was rejected by a remote mail
     * server": a refusal of RCPT TO in its transcript is the address's
     * (as Sisimai reads it), but only when the reply says nothing else.
     * A reply that names our sender, our host or IP, a relay, a block
     * list, a policy, authentication, a rate, the mailbox's state or a
     * retry, or whose enhanced code is temporary or of another class
     * (X.2-X.7), is read by the generic rules like any other reply: a
     * "Relay access denied" at RCPT TO is no unknown user. */
    { "ezweb-rcpt",        "userunknown",   0, ">>> rcpt to: ?<[^<>\\s]*>[ \\t\\n]+<<< 5\\d\\d\\b(?![ -]+(?:4|5\\.[2-7])\\.)(?![^\\n]*(?:relay|sender|mail from|spam|virus|block|black|listed|\\brbl\\b|policy|client|\\bip\\b|helo|reverse|\\bptr\\b|\\bdns\\b|authenticat|\\bspf\\b|dkim|dmarc|too many|\\brate\\b|limit|quota|\\bfull\\b|\\bsize\\b|too large|disabled|suspend|inactive|temporar|try again|later|gr[ae]y|moved|content|denied|refused))", "ezweb" },
    /* In any language the letter lists four reasons the post may have
     * failed, one "*" bullet each; fewer is some other notice. */
    { "googlegroups-post", "rejected",      0, "group you tried to contact|permission to post|may not be open to posting|投稿する権限がない|投稿を受け付けていない|(?:(?:^|\\s)\\*\\s?[^*]+){4}", "googlegroups" },
    { "zoho-expired",      "expired",       0, "host not reachable", "zoho" },
    { "kddi-full",         "mailboxfull",   0, "as their mailbox is full", "kddi" },
    { "kddi-relay",        "norelaying",    0, "due to the following smtp relay error", "kddi" },
    { "kddi-host",         "hostunknown",   0, "as the remote domain doesn'?t exist", "kddi" },
};

/* The SMTP command an MTA's wording implies (rhost: the MTA's name). */
static const BounceRule table_mta_command[] = {
    /* Yahoo and Office 365 quote the refused address only when RCPT TO
     * was refused. */
    { "yahoo-rcpt",        "RCPT", 0, "<[^<>\\s]+@[^<>\\s]+>", "yahoo" },
    { "office365-rcpt",    "RCPT", 0, "unknown recipient or mailbox unavailable ->.+<?[^\\s<>]+@[^\\s<>]+\\.[a-z]+>?", "office365" },
};

/* A local delivery agent (mail.local, procmail, maildrop, vpopmail,
 * vmailmgr, Dovecot) reporting in the text of the bounce: its line is the
 * final word on the recipient. */
/* The remote host a failure's own text names, where no Remote-MTA field
 * did (a prose bounce): the provider's rules (RHOST_REASON) go by it.
 * Group 1 is the host. */
static const BounceRule table_remote_host[] = {
    /* Postfix: "host mx.example.com[192.0.2.1] said: 550 ..." */
    { "host-said",     NULL, 1, "\\bhost ([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)\\[[0-9a-f.:]+\\] said:", NULL },
    /* Exim: "host mx.example.com [192.0.2.1]" before its SMTP error;
     * not "host x [ip] is listed", which names the sending host */
    { "host-bracket",  NULL, 1, "\\bhost ([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+) \\[[0-9a-f.:]+\\](?!\\s*(?:is|was|has|have|are)\\b)", NULL },
    /* Sendmail: "... while talking to mx.example.com.:" */
    { "host-talking",  NULL, 1, "while talking to ([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)\\.?:", NULL },
};

static const BounceRule table_mda_reason[] = {
    { "mda-dovecot-user",  "userunknown", 0, "^your message to \\S+ was automatically rejected:[ \\t]*\\n(?:.+\\n)*?.*mailbox doesn't exist: ", NULL },
    { "mda-dovecot-full",  "mailboxfull", 0, "^your message to \\S+ was automatically rejected:[ \\t]*\\n(?:.+\\n)*?.*(?:quota exceeded|not enough disk space)", NULL },
    { "mda-maillocal-user","userunknown", 0, "^mail\\.local:(?:.*: | )(?:unknown user:|user unknown|invalid mailbox path|user missing home directory)", NULL },
    { "mda-maillocal-full","mailboxfull", 0, "^mail\\.local: .*(?:disc quota exceeded|mailbox full or quota exceeded)", NULL },
    { "mda-maillocal-system","systemerror", 0, "^mail\\.local: .*temporary file write error", NULL },
    { "mda-procmail-full", "mailboxfull", 0, "^procmail: .*quota exceeded while writing", NULL },
    { "mda-procmail-disk", "systemfull",  0, "^procmail: .*no space left to finish writing", NULL },
    { "mda-maildrop-user", "userunknown", 0, "^maildrop: .*(?:invalid user specified\\.|cannot find system user)", NULL },
    { "mda-maildrop-full", "mailboxfull", 0, "^maildrop: .*maildir over quota\\.", NULL },
    { "mda-vpopmail-user", "userunknown", 0, "^vdelivermail: .*sorry, no mailbox here by that name\\.", NULL },
    { "mda-vpopmail-filtered","filtered", 0, "^vdelivermail: .*(?:account is locked email bounced|user does not exist, but will deliver to )", NULL },
    { "mda-vpopmail-full", "mailboxfull", 0, "^vdelivermail: .*(?:domain|user) is over quota", NULL },
    { "mda-vmailmgr-user", "userunknown", 0, "^vdeliver: .*(?:invalid or unknown (?:base user or domain|virtual user)|user name does not refer to a virtual user)", NULL },
    { "mda-vmailmgr-full", "mailboxfull", 0, "^vdeliver: .*delivery failed due to system quota violation", NULL },
};

#define TABLE(t) { t, G_N_ELEMENTS(t) }

static const struct {
    const BounceRule *rules;
    gsize count;
} tables[BOUNCE_TABLE_COUNT] = {
    [BOUNCE_TABLE_BOUNCE_SUBJECT]     = TABLE(table_bounce_subject),
    [BOUNCE_TABLE_BOUNCE_FROM]        = TABLE(table_bounce_from),
    [BOUNCE_TABLE_BOUNCE_BODY]        = TABLE(table_bounce_body),
    [BOUNCE_TABLE_AUTOREPLY_SUBJECT]  = TABLE(table_autoreply_subject),
    [BOUNCE_TABLE_ORIGINAL_MARK]      = TABLE(table_original_mark),
    [BOUNCE_TABLE_RECIPIENT]          = TABLE(table_recipient),
    [BOUNCE_TABLE_RECIPIENT_LAST]     = TABLE(table_recipient_last),
    [BOUNCE_TABLE_REASON]             = TABLE(table_reason),
    [BOUNCE_TABLE_RHOST_REASON]       = TABLE(table_rhost_reason),
    [BOUNCE_TABLE_STATUS]             = TABLE(table_status),
    [BOUNCE_TABLE_DELAYED]            = TABLE(table_delayed),
    [BOUNCE_TABLE_DELIVERED]          = TABLE(table_delivered),
    [BOUNCE_TABLE_DELIVERED_NOTICE]   = TABLE(table_delivered_notice),
    [BOUNCE_TABLE_COMPLAINT_SUBJECT]  = TABLE(table_complaint_subject),
    [BOUNCE_TABLE_COMMAND]            = TABLE(table_command),
    [BOUNCE_TABLE_VENDOR_REASON]      = TABLE(table_vendor_reason),
    [BOUNCE_TABLE_MTA]                = TABLE(table_mta),
    [BOUNCE_TABLE_MTA_REASON]         = TABLE(table_mta_reason),
    [BOUNCE_TABLE_MTA_COMMAND]        = TABLE(table_mta_command),
    [BOUNCE_TABLE_MDA_REASON]         = TABLE(table_mda_reason),
    [BOUNCE_TABLE_REMOTE_HOST]        = TABLE(table_remote_host),
};

/* class_end - past the character class that opens at p ('['), or NULL
 * when it does not close. A ']' first in the class ("[]x]", "[^]x]") is
 * one of its characters; "[:alpha:]" inside it is one item. */
static const char *
class_end(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*(p += strcspn(p, "\\[]")) != '\0') {
        if (*p == '\\') {
            if (p[1] == '\0')
                return NULL;
            p += 2;
        } else if (*p == '[' && p[1] == ':') {
            const char *close = strstr(p + 2, ":]");

            if (close == NULL)
                return NULL;
            p = close + 2;
        } else if (*p == ']') {
            return p + 1;
        } else {
            p++;
        }
    }
    return NULL;
}

/* bounce_pattern_branches - where pattern's top-level alternation divides it
 * ("a|b(?:c|d)": at 1), up to max offsets of its '|' in at; how many, or 0
 * when it has one branch, more than max + 1, or anything whose meaning
 * could change once the branches stand apart: back references, named or
 * numbered group calls, option settings ("(?i)" holds for the branches
 * after it), quoting with \Q...\E, \c, comments and verbs. Plain, atomic
 * and lookaround groups are kept whole; the rules use nothing else. */
gsize
bounce_pattern_branches(const char *pattern, gsize *at, gsize max)
{
    const char *p = pattern;
    gsize n = 0;
    int depth = 0;

    while (*(p += strcspn(p, "\\[()|")) != '\0') {
        if (*p == '\\') {
            /* \c takes the next character, '|' too, as a control one */
            if (p[1] == '\0' || (p[1] >= '1' && p[1] <= '9') || strchr("gkQEc", p[1]) != NULL)
                return 0;
            p += 2;
        } else if (*p == '[') {
            if ((p = class_end(p)) == NULL)
                return 0;
        } else if (*p == '(') {
            if (p[1] == '*')
                return 0;
            if (p[1] == '?' && !(p[2] == ':' || p[2] == '=' || p[2] == '!' || p[2] == '>'
                                 || (p[2] == '<' && (p[3] == '=' || p[3] == '!'))))
                return 0;
            depth++;
            p++;
        } else if (*p == ')') {
            if (--depth < 0)
                return 0;
            p++;
        } else {                /* '|' */
            if (depth == 0) {
                if (n == max)
                    return 0;
                at[n++] = (gsize)(p - pattern);
            }
            p++;
        }
    }
    return depth == 0 ? n : 0;
}

#define TABLE_MAX_BRANCHES 256

/* tables_by_branch - rules as they are run when only which rule matched
 * matters, not where: each rule whose pattern is an alternation at its
 * top level becomes one rule per branch, under the rule's id, value and
 * rhost, in the rule's place. A text matches the rule exactly when it
 * matches one of its branches, and the first rule of the table to match
 * is the rule of the first branch to match. Run apart, a branch is
 * tried only where its own words are (the prefilter), and the matcher
 * does not try every branch at every offset of the text: the reason
 * table's long alternations were two fifths of the parse's pattern work
 * (docs/performance.md). The branches are kept for the process, each
 * rule's in one copy of its pattern with a NUL for each '|'. */
static const BounceRule *
tables_by_branch(const BounceRule *rules, gsize count, gsize *count_out)
{
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(BounceRule), (guint)count * 8);
    gsize at[TABLE_MAX_BRANCHES];

    for (gsize i = 0; i < count; i++) {
        gsize n = rules[i].group != 0 ? 0
                  : bounce_pattern_branches(rules[i].pattern, at, G_N_ELEMENTS(at));
        BounceRule branch = rules[i];
        char *copy;

        if (n == 0) {
            g_array_append_val(out, branch);
            continue;
        }
        copy = g_strdup(rules[i].pattern);
        branch.pattern = copy;
        g_array_append_val(out, branch);
        for (gsize k = 0; k < n; k++) {
            copy[at[k]] = '\0';
            branch.pattern = copy + at[k] + 1;
            g_array_append_val(out, branch);
        }
    }
    *count_out = out->len;
    return (const BounceRule *)(void *)g_array_free(out, FALSE);
}

/* The tables whose readers ask only which rule matched (its id or value),
 * never where: run by branch. The others' readers take the match's span
 * (the delay and MDA tables, the original's marks, recipients and codes),
 * try one rule on many header fields without the prefilter (the MTA
 * table), or screen each rule by its host first (the provider tables),
 * where more rules would mean more work: measured, these gained nothing. */
static const gboolean table_by_branch[BOUNCE_TABLE_COUNT] = {
    [BOUNCE_TABLE_BOUNCE_BODY] = TRUE,
    [BOUNCE_TABLE_BOUNCE_FROM] = TRUE,
    [BOUNCE_TABLE_REASON] = TRUE,
};

const BounceRule *
bounce_tables_get(BounceTable table, gsize *count_out)
{
    static gsize done[BOUNCE_TABLE_COUNT];
    static const BounceRule *split[BOUNCE_TABLE_COUNT];
    static gsize split_count[BOUNCE_TABLE_COUNT];

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, NULL);
    if (!table_by_branch[table]) {
        *count_out = tables[table].count;
        return tables[table].rules;
    }
    if (g_once_init_enter(&done[table])) {
        split[table] = tables_by_branch(tables[table].rules, tables[table].count,
                                        &split_count[table]);
        g_once_init_leave(&done[table], 1);
    }
    *count_out = split_count[table];
    return split[table];
}

const BounceRule *
bounce_tables_written(BounceTable table, gsize *count_out)
{
    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, NULL);
    *count_out = tables[table].count;
    return tables[table].rules;
}

guint64
bounce_tables_fingerprint(const BounceRule *rules, gsize count)
{
    guint64 h = G_GUINT64_CONSTANT(14695981039346656037);

    /* FNV-1a over each rule's id and pattern, NUL-separated. */
    for (gsize i = 0; i < count; i++) {
        const char *parts[2] = { rules[i].id, rules[i].pattern };

        for (int k = 0; k < 2; k++) {
            for (const guchar *c = (const guchar *)parts[k]; ; c++) {
                h = (h ^ *c) * G_GUINT64_CONSTANT(1099511628211);
                if (*c == '\0')
                    break;
            }
        }
    }
    return h ^ count;
}
