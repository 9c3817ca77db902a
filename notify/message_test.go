package notify

import (
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/money"
)

// fullData fills every field a message may use, with values that are easy
// to look for in the output.
func fullData() MessageData {
	return MessageData{
		LearnerName:  "Li Lei",
		RefundID:     "rf_8Kd2",
		OrderID:      "ord_1001",
		ProductTitle: "Python 入门",
		Amount:       129900,
		Currency:     "CNY",
		Explanation: Localized{
			EN: "More than 7 days after the course started. Rule outside_policy, policy default@1.",
			ZH: "开课已超过 7 天。规则 outside_policy，政策 default@1。",
		},
		Offers: []refundflow.Offer{
			{ID: "offer-1", Kind: refundflow.OfferExtendAccess, Title: "30 more days of access", Detail: "Keep the course with 30 extra days."},
			{ID: "offer-2", Kind: refundflow.OfferCoupon, Title: "30% off your next course", Detail: "Keep this course and get a coupon."},
		},
		ChosenOffer:      refundflow.Offer{Kind: refundflow.OfferExtendAccess, Title: "30 more days of access", Detail: "Keep the course with 30 extra days."},
		Deadline:         time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC), // 18:00 in Shanghai
		ArrivalEarliest:  calendar.MakeDate(2026, 3, 9),
		ArrivalLatest:    calendar.MakeDate(2026, 3, 13),
		ProviderRefundID: "re_3PqA9x",
		AppealUntil:      time.Date(2026, 3, 19, 15, 59, 0, 0, time.UTC), // 23:59 in Shanghai
		NextUpdateBy:     time.Date(2026, 3, 6, 2, 0, 0, 0, time.UTC),
		TicketID:         "T-42",
		TicketSubject:    "视频无法播放",
		ReplyBody:        "Please clear the app cache and try again.",
		RenewsAt:         time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestEveryMessageRendersInBothLanguagesWithItsKeyFacts(t *testing.T) {
	want := map[MessageKind]map[refundflow.Locale][]string{
		KindReceived: {
			"en":    {"Li Lei", "rf_8Kd2", "ord_1001", "Python 入门", "withdraw", "6 March 2026, 10:00 (Beijing time)"},
			"zh-CN": {"Li Lei，您好", "rf_8Kd2", "ord_1001", "《Python 入门》", "撤回", "北京时间 2026年3月6日 10:00"},
		},
		KindOffer: {
			"en":    {"1299.00 CNY", "30 more days of access: Keep the course with 30 extra days.", "30% off your next course", "7 March 2026, 18:00 (Beijing time)", "decline"},
			"zh-CN": {"¥1,299.00", "30 more days of access：Keep the course with 30 extra days.", "北京时间 2026年3月7日 18:00", "继续退款"},
		},
		KindApproved: {
			"en":    {"1299.00 CNY", "approved", "Rule outside_policy"},
			"zh-CN": {"¥1,299.00", "审核通过", "规则 outside_policy"},
		},
		KindRefunded: {
			"en":    {"1299.00 CNY", "between 9 March 2026 and 13 March 2026", "re_3PqA9x", "original payment method"},
			"zh-CN": {"¥1,299.00", "2026年3月9日 至 2026年3月13日", "re_3PqA9x", "原路退回"},
		},
		KindRejected: {
			"en":    {"More than 7 days", "appeal once", "19 March 2026, 23:59 (Beijing time)", "rf_8Kd2"},
			"zh-CN": {"开课已超过 7 天", "二次申诉", "北京时间 2026年3月19日 23:59", "rf_8Kd2"},
		},
		KindRejectedFinal: {
			"en":    {"More than 7 days", "final", "rf_8Kd2"},
			"zh-CN": {"开课已超过 7 天", "最终结果", "rf_8Kd2"},
		},
		KindAppealReceived: {
			"en":    {"appeal", "rf_8Kd2", "6 March 2026, 10:00"},
			"zh-CN": {"二次申诉", "rf_8Kd2", "2026年3月6日 10:00"},
		},
		KindWithdrawn: {
			"en":    {"withdrawn", "rf_8Kd2", "Nothing will be refunded"},
			"zh-CN": {"撤回", "rf_8Kd2", "不会退款"},
		},
		KindRetained: {
			"en":    {"30 more days of access", "Keep the course with 30 extra days.", "closed"},
			"zh-CN": {"30 more days of access", "方案内容", "退款申请已关闭"},
		},
		KindFailed: {
			"en":    {"1299.00 CNY", "Nothing is lost", "finance team", "keep full access"},
			"zh-CN": {"¥1,299.00", "不会丢失", "财务团队", "学习权限保持不变"},
		},
		KindTicketReceived: {
			"en":    {"T-42", "视频无法播放", "6 March 2026, 10:00"},
			"zh-CN": {"T-42", "视频无法播放", "2026年3月6日 10:00"},
		},
		KindTicketReply: {
			"en":    {"T-42", "Please clear the app cache and try again."},
			"zh-CN": {"T-42", "Please clear the app cache and try again."},
		},
		KindTicketResolved: {
			"en":    {"T-42", "resolved", "1 (very poor) to 5 (excellent)"},
			"zh-CN": {"T-42", "已解决", "1 到 5"},
		},
		KindRenewalReminder: {
			"en":    {"1 April 2026", "1299.00 CNY", "turn off automatic renewal"},
			"zh-CN": {"2026年4月1日", "¥1,299.00", "关闭自动续费"},
		},
	}
	if len(want) != len(MessageKinds) {
		t.Fatalf("the test covers %d kinds, the package has %d", len(want), len(MessageKinds))
	}
	for _, kind := range MessageKinds {
		for _, l := range []refundflow.Locale{refundflow.LocaleEn, refundflow.LocaleZhCN} {
			m, err := Render(kind, l, fullData())
			if err != nil {
				t.Errorf("%s/%s: %v", kind, l, err)
				continue
			}
			if m.Subject == "" || m.Text == "" || m.HTML == "" || m.Locale != l || m.Kind != kind {
				t.Errorf("%s/%s: incomplete message %+v", kind, l, m)
			}
			for _, fact := range want[kind][l] {
				if !strings.Contains(m.Text, fact) {
					t.Errorf("%s/%s: text lacks %q:\n%s", kind, l, fact, m.Text)
				}
				if !strings.Contains(m.HTML, htmlEscape(fact)) {
					t.Errorf("%s/%s: HTML lacks %q", kind, l, fact)
				}
			}
			for _, part := range []string{m.Subject, m.Text, m.HTML} {
				if strings.Contains(part, "<no value>") || strings.Contains(part, "{{") {
					t.Errorf("%s/%s: unrendered placeholder in %q", kind, l, part)
				}
			}
		}
	}
}

// htmlEscape is what html/template does to the characters in our facts.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", `"`, "&#34;", "+", "&#43;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func TestRefundedMessageStatesAmountArrivalWindowAndReference(t *testing.T) {
	m, err := Render(KindRefunded, "zh-CN", fullData())
	if err != nil {
		t.Fatal(err)
	}
	if want := "退款 ¥1,299.00 已发出，预计 2026年3月13日 前到账"; m.Subject != want {
		t.Errorf("subject = %q, want %q", m.Subject, want)
	}
	for _, line := range []string{
		"- 退款金额：¥1,299.00",
		"- 预计到账：2026年3月9日 至 2026年3月13日",
		"- 退款参考号：re_3PqA9x",
	} {
		if !strings.Contains(m.Text, line+"\n") {
			t.Errorf("text lacks the line %q:\n%s", line, m.Text)
		}
	}
	if !strings.Contains(m.HTML, "<li>退款参考号：re_3PqA9x</li>") {
		t.Errorf("the facts are not an HTML list:\n%s", m.HTML)
	}
}

func TestRejectedMessageExplainsHowToAppealOnceAndUntilWhen(t *testing.T) {
	d := fullData()
	for _, c := range []struct {
		locale refundflow.Locale
		want   []string
	}{
		{"en", []string{"Why: More than 7 days", "you can appeal once", "choose \"Appeal\"", "- Appeal by: 19 March 2026, 23:59 (Beijing time)", "only once"}},
		{"zh-CN", []string{"原因：开课已超过 7 天", "发起一次二次申诉", "选择“申诉”", "- 申诉截止：北京时间 2026年3月19日 23:59", "只有一次机会"}},
	} {
		m, err := Render(KindRejected, c.locale, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.want {
			if !strings.Contains(m.Text, s) {
				t.Errorf("%s: text lacks %q:\n%s", c.locale, s, m.Text)
			}
		}
	}
}

func TestRejectedMessageLinksTheAppealWhenTheCaseHasAURL(t *testing.T) {
	d := fullData()
	d.CaseURL = "https://learn.example.com/refunds/rf_8Kd2?tab=appeal&src=mail"
	m, err := Render(KindRejected, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "- Link: "+d.CaseURL) {
		t.Errorf("text lacks the link:\n%s", m.Text)
	}
	escaped := "https://learn.example.com/refunds/rf_8Kd2?tab=appeal&amp;src=mail"
	if !strings.Contains(m.HTML, `<a href="`+escaped+`">`+escaped+`</a>`) {
		t.Errorf("HTML does not link the case:\n%s", m.HTML)
	}
}

func TestMessageWithoutDataItNeedsIsAnErrorNotABlank(t *testing.T) {
	cases := []struct {
		kind  MessageKind
		field string
		clear func(*MessageData)
	}{
		{KindRefunded, "ProviderRefundID", func(d *MessageData) { d.ProviderRefundID = "" }},
		{KindRefunded, "ArrivalLatest", func(d *MessageData) { d.ArrivalLatest = calendar.Date{} }},
		{KindRefunded, "Amount", func(d *MessageData) { d.Currency = "" }},
		{KindRejected, "AppealUntil", func(d *MessageData) { d.AppealUntil = time.Time{} }},
		{KindRejected, "Explanation", func(d *MessageData) { d.Explanation = Localized{} }},
		{KindOffer, "Offers", func(d *MessageData) { d.Offers = nil }},
		{KindOffer, "Deadline", func(d *MessageData) { d.Deadline = time.Time{} }},
		{KindRetained, "ChosenOffer", func(d *MessageData) { d.ChosenOffer = refundflow.Offer{} }},
		{KindTicketReply, "ReplyBody", func(d *MessageData) { d.ReplyBody = "  " }},
		{KindRenewalReminder, "RenewsAt", func(d *MessageData) { d.RenewsAt = time.Time{} }},
	}
	for _, c := range cases {
		for _, l := range []refundflow.Locale{refundflow.LocaleEn, refundflow.LocaleZhCN} {
			d := fullData()
			c.clear(&d)
			_, err := Render(c.kind, l, d)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("%s/%s without %s: err = %v, want one naming the field", c.kind, l, c.field, err)
			}
		}
	}
}

func TestOptionalDataMayBeLeftOut(t *testing.T) {
	d := fullData()
	d.LearnerName, d.NextUpdateBy, d.CaseURL, d.SurveyURL, d.ManageURL = "", time.Time{}, "", "", ""
	d.Offers[0].Detail = ""
	for _, kind := range MessageKinds {
		for _, l := range []refundflow.Locale{refundflow.LocaleEn, refundflow.LocaleZhCN} {
			if _, err := Render(kind, l, d); err != nil {
				t.Errorf("%s/%s: %v", kind, l, err)
			}
		}
	}
	m, _ := Render(KindReceived, "zh-CN", d)
	if !strings.HasPrefix(m.Text, "您好：\n") {
		t.Errorf("greeting without a name:\n%s", m.Text)
	}
}

func TestResolvedTicketAsksForARating(t *testing.T) {
	d := fullData()
	m, _ := Render(KindTicketResolved, "zh-CN", d)
	if !strings.Contains(m.Text, "写一个 1 到 5 的数字") {
		t.Errorf("without a survey link the learner is not asked to reply with 1–5:\n%s", m.Text)
	}
	d.SurveyURL = "https://survey.example.com/csat/T-42"
	m, _ = Render(KindTicketResolved, "zh-CN", d)
	if !strings.Contains(m.Text, d.SurveyURL) || strings.Contains(m.Text, "1 到 5") {
		t.Errorf("with a survey link the learner is not sent to it:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `<a href="`+d.SurveyURL+`">`) {
		t.Errorf("survey link is not clickable:\n%s", m.HTML)
	}
}

func TestProductTitleIsEscapedInHTMLAndKeptInText(t *testing.T) {
	d := fullData()
	d.ProductTitle = `<script>alert("x")</script> & Co`
	d.ReplyBody = "<img src=x onerror=alert(1)>\n\n- step <b>one</b>"
	for _, kind := range []MessageKind{KindRefunded, KindTicketReply} {
		m, err := Render(kind, "en", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "<img", "<b>"} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s: HTML contains %q:\n%s", kind, bad, m.HTML)
			}
		}
		if kind == KindRefunded {
			if !strings.Contains(m.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") {
				t.Errorf("HTML lacks the escaped title:\n%s", m.HTML)
			}
			if !strings.Contains(m.Text, d.ProductTitle) {
				t.Errorf("text should carry the title as is:\n%s", m.Text)
			}
			if !strings.Contains(m.HTML, "<title>Your refund of 1299.00 CNY is on its way</title>") {
				t.Errorf("HTML title:\n%s", m.HTML)
			}
		}
	}
}

func TestSubjectStaysOnOneLine(t *testing.T) {
	d := fullData()
	d.ProductTitle = "Go\r\nBcc: victim@example.com"
	m, err := Render(KindReceived, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject has a line break: %q", m.Subject)
	}
}

func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := []refundflow.Locale{"en", "zh-CN"}[i%2]
			for _, kind := range MessageKinds {
				if _, err := Render(kind, l, fullData()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestUnknownMessageKindIsAnError(t *testing.T) {
	if _, err := Render("refund_exploded", "en", fullData()); err == nil || !strings.Contains(err.Error(), "refund_exploded") {
		t.Errorf("err = %v", err)
	}
}

func TestUnknownLocaleFallsBackToEnglishAndChineseVariantsGetChinese(t *testing.T) {
	cases := map[refundflow.Locale]refundflow.Locale{
		"":           "en",
		"fr-FR":      "en",
		"en-GB":      "en",
		"zh":         "zh-CN",
		"zh_CN":      "zh-CN",
		"ZH-cn":      "zh-CN",
		"zh-Hans-CN": "zh-CN",
		"zh-TW":      "zh-CN",
	}
	for in, want := range cases {
		m, err := Render(KindWithdrawn, in, fullData())
		if err != nil || m.Locale != want {
			t.Errorf("locale %q: got %q, %v; want %q", in, m.Locale, err, want)
		}
	}
}

func TestExplanationFallsBackToTheOtherLanguage(t *testing.T) {
	d := fullData()
	d.Explanation = Localized{EN: "Approved by hand."}
	m, err := Render(KindApproved, "zh-CN", d)
	if err != nil || !strings.Contains(m.Text, "金额说明：Approved by hand.") {
		t.Errorf("err = %v, text:\n%s", err, m.Text)
	}
}

func TestInstantsAreShownInTheLearnersZone(t *testing.T) {
	d := fullData()
	d.Location = time.UTC
	m, _ := Render(KindRejected, "en", d)
	if !strings.Contains(m.Text, "19 March 2026, 15:59 (UTC)") {
		t.Errorf("UTC learner:\n%s", m.Text)
	}
	d.Location = time.FixedZone("", -(3*3600 + 30*60))
	m, _ = Render(KindRejected, "zh-CN", d)
	if !strings.Contains(m.Text, "2026年3月19日 12:29（UTC-3:30）") {
		t.Errorf("UTC-3:30 learner:\n%s", m.Text)
	}
	// Arrival dates are days, not instants: they do not move with the zone.
	m, _ = Render(KindRefunded, "en", d)
	if !strings.Contains(m.Text, "between 9 March 2026 and 13 March 2026") {
		t.Errorf("arrival dates moved:\n%s", m.Text)
	}
}

func TestTextParagraphsBecomeHTMLParagraphsAndLists(t *testing.T) {
	got := blocks("Hello,\n\nIntro line\n- one\n- two\nafter\nmore\n\nBye")
	want := "<p>Hello,</p>\n<p>Intro line</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<p>after<br>\nmore</p>\n<p>Bye</p>\n"
	if got != want {
		t.Errorf("blocks:\n%s\nwant:\n%s", got, want)
	}
	if got := tidy("\n\n a  \n\n\n\nb\t\n\n"); got != " a\n\nb" {
		t.Errorf("tidy = %q", got)
	}
}

// Template text is trusted by html/template, so a raw "<" or "&" typed by a
// support lead would go into the HTML unescaped. Keep them out.
func TestTemplatesContainNoRawMarkup(t *testing.T) {
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	err := fs.WalkDir(templateFS, "templates", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".tmpl") {
			return err
		}
		b, _ := fs.ReadFile(templateFS, path)
		if text := action.ReplaceAllString(string(b), ""); strings.ContainsAny(text, "<>&") {
			t.Errorf("%s: write words, not markup (<, > and & are not allowed outside {{ }})", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEveryTemplateFileIsAMessageKind(t *testing.T) {
	known := map[string]bool{"_common": true}
	for _, k := range MessageKinds {
		known[string(k)] = true
	}
	for _, l := range []string{"en", "zh-CN"} {
		entries, err := fs.ReadDir(templateFS, "templates/"+l)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name := strings.TrimSuffix(e.Name(), ".tmpl"); !known[name] {
				t.Errorf("templates/%s/%s is not a message kind (typo in the file name?)", l, e.Name())
			}
		}
	}
}

func TestChineseAmountsUseFamiliarSymbols(t *testing.T) {
	cases := []struct {
		amount int64
		cur    string
		zh, en string
	}{
		{19900, "CNY", "¥199.00", "199.00 CNY"},
		{1290, "USD", "US$12.90", "12.90 USD"},
		{123456789, "CNY", "¥1,234,567.89", "1234567.89 CNY"},
		{1500, "JPY", "JP¥1,500", "1500 JPY"},
		{5, "EUR", "€0.05", "0.05 EUR"},
		{1000, "KWD", "1.000 KWD", "1.000 KWD"},
	}
	for _, c := range cases {
		if got := formatMoney("zh-CN", c.amount, money.Currency(c.cur)); got != c.zh {
			t.Errorf("zh %d %s = %q, want %q", c.amount, c.cur, got, c.zh)
		}
		if got := formatMoney("en", c.amount, money.Currency(c.cur)); got != c.en {
			t.Errorf("en %d %s = %q, want %q", c.amount, c.cur, got, c.en)
		}
	}
}
