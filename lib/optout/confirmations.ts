/**
 * The one confirmation an opt-out gets (47 CFR 64.1200(a)(12), FCC 24-24, in force since 4 April 2024: one
 * text that merely confirms the revocation, with no marketing, the only message after it, presumed
 * compliant when sent within 5 minutes; docs/opt-out-detection.md has the sources). Per language, in a text form (SMS, WhatsApp, chat: says how
 * to opt back in, as carriers expect) and a spoken form (IVR). `__sender__` is replaced by the sender
 * name given to the node followed by ": ", or by nothing.
 */

export interface Confirmation {
  readonly text: string;
  readonly voice: string;
}

export const CONFIRMATIONS: Readonly<Record<string, Confirmation>> = {
  en: {
    text: '__sender__You are unsubscribed and will receive no further messages from us. Reply START to resubscribe.',
    voice: 'Thank you. Your request is recorded and we will not contact you again.',
  },
  es: {
    text: '__sender__Se ha dado de baja y no recibirá más mensajes nuestros. Responda START para volver a suscribirse.',
    voice: 'Gracias. Hemos registrado su solicitud y no volveremos a contactarle.',
  },
  fr: {
    text: '__sender__Vous êtes désabonné et ne recevrez plus de messages de notre part. Répondez START pour vous réabonner.',
    voice: 'Merci. Votre demande est enregistrée, nous ne vous contacterons plus.',
  },
  de: {
    text: '__sender__Sie sind abgemeldet und erhalten keine weiteren Nachrichten von uns. Antworten Sie START, um sich wieder anzumelden.',
    voice: 'Vielen Dank. Ihr Wunsch ist gespeichert, wir werden Sie nicht mehr kontaktieren.',
  },
  pt: {
    text: '__sender__Seu cadastro foi cancelado e você não receberá mais mensagens nossas. Responda START para voltar a receber.',
    voice: 'Obrigado. Seu pedido foi registrado e não entraremos mais em contato.',
  },
  hi: {
    text: '__sender__आपकी सदस्यता समाप्त कर दी गई है, अब आपको हमारी ओर से कोई संदेश नहीं मिलेगा। दोबारा जुड़ने के लिए START भेजें।',
    voice: 'धन्यवाद। आपका अनुरोध दर्ज कर लिया गया है, हम आपसे दोबारा संपर्क नहीं करेंगे।',
  },
  'hi-Latn': {
    text: '__sender__Aapka unsubscribe ho gaya hai, ab aapko hamari taraf se koi message nahi milega. Dobara judne ke liye START bhejein.',
    voice: 'Dhanyavaad. Aapka anurodh darj ho gaya hai, hum aapse dobara sampark nahi karenge.',
  },
  it: {
    text: '__sender__La tua iscrizione è stata annullata e non riceverai più messaggi da noi. Rispondi START per iscriverti di nuovo.',
    voice: 'Grazie. La sua richiesta è stata registrata e non la contatteremo più.',
  },
  nl: {
    text: '__sender__U bent afgemeld en ontvangt geen berichten meer van ons. Antwoord START om u opnieuw aan te melden.',
    voice: 'Dank u. Uw verzoek is vastgelegd, wij nemen geen contact meer met u op.',
  },
  id: {
    text: '__sender__Anda telah berhenti berlangganan dan tidak akan menerima pesan lagi dari kami. Balas START untuk berlangganan kembali.',
    voice: 'Terima kasih. Permintaan Anda telah dicatat dan kami tidak akan menghubungi Anda lagi.',
  },
  tr: {
    text: '__sender__Aboneliğiniz iptal edildi, bizden başka mesaj almayacaksınız. Yeniden abone olmak için START yazın.',
    voice: 'Teşekkürler. Talebiniz kaydedildi, sizinle bir daha iletişime geçmeyeceğiz.',
  },
};

export const CONFIRMATION_LANGUAGES = Object.keys(CONFIRMATIONS);

/**
 * The confirmation for an opt-out in `language` (English when there is no template for it), spoken
 * when the channel is `voice`. `template` replaces the built-in text (same `__sender__` placeholder).
 */
export function confirmationFor(
  language: string,
  options: { channel?: string | null; sender?: string; template?: string } = {},
): string {
  const forms = CONFIRMATIONS[language] ?? CONFIRMATIONS[language.split('-')[0]] ?? CONFIRMATIONS.en;
  const spoken = options.channel === 'voice';
  const template =
    options.template !== undefined && options.template.trim() !== ''
      ? options.template
      : spoken
        ? forms.voice
        : forms.text;
  const sender = options.sender?.trim() ?? '';
  return template.replace(/__sender__/g, sender === '' ? '' : spoken ? `${sender}. ` : `${sender}: `);
}
