// Package offers decides which retention offers (以服务代替退款) fit a
// refund request: something the learner may prefer to the money back —
// switching course, more time, a coupon, a tutoring session, or moving a
// consultation. It is plain Go; the refund workflow records and presents
// what it returns.
package offers

import (
	"fmt"
	"time"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/policy"
)

// Request is what the choice depends on.
type Request struct {
	Reason  policy.Reason
	Product refundflow.Product
	// Alternatives are the products the platform named as switches, as
	// stored (unknown ids are left out by the caller).
	Alternatives []refundflow.Product
	Locale       refundflow.Locale
	ExpiresAt    time.Time
}

// ExtensionDays is how much more access an extend_access offer gives.
const ExtensionDays = 30

// CouponPercent is the discount of a coupon offer on the next course.
const CouponPercent = 30

// For returns the offers that fit, most relevant first; none when nothing
// fits (the case then goes straight to the refund).
func For(r Request) []refundflow.Offer {
	zh := r.Locale == refundflow.LocaleZhCN
	var out []refundflow.Offer
	add := func(kind refundflow.OfferKind, productID, titleEn, titleZh, detailEn, detailZh string) {
		o := refundflow.Offer{
			ID: fmt.Sprintf("offer-%d", len(out)+1), Kind: kind, ProductID: productID,
			Title: titleEn, Detail: detailEn, ExpiresAt: r.ExpiresAt,
		}
		if zh {
			o.Title, o.Detail = titleZh, detailZh
		}
		out = append(out, o)
	}
	switchTo := func(max int) {
		for i, alt := range r.Alternatives {
			if i == max {
				break
			}
			add(refundflow.OfferSwitchCourse, alt.ID,
				"Switch to "+alt.Title, "换学《"+alt.Title+"》",
				"Move your purchase to "+alt.Title+" at no extra cost, instead of a refund.",
				"不退款，免费将本次购买转为《"+alt.Title+"》。")
		}
	}
	coupon := func() {
		add(refundflow.OfferCoupon, "",
			fmt.Sprintf("%d%% off your next course", CouponPercent), fmt.Sprintf("下一门课 %d 折优惠", 100-CouponPercent),
			fmt.Sprintf("Keep this course and get a %d%% coupon for any other course.", CouponPercent),
			fmt.Sprintf("保留本课程，并获得任意课程可用的 %d 折优惠券。", 100-CouponPercent))
	}
	tutoring := func() {
		add(refundflow.OfferTutoring, "",
			"A free 1-on-1 tutoring session", "一次免费的 1 对 1 辅导",
			"A tutor walks you through what did not work for you, in a 45-minute session.",
			"由助教进行 45 分钟 1 对 1 辅导，解决您遇到的问题。")
	}

	switch r.Product.Type {
	case refundflow.Consultation:
		add(refundflow.OfferReschedule, "",
			"Reschedule your consultation", "改约咨询时间",
			"Pick another time for the same consultation, free of charge.",
			"免费改约到其他时间，咨询内容不变。")
	case refundflow.LiveCourse:
		switchTo(2)
		if r.Reason == policy.ReasonNotAsExpected {
			tutoring()
		}
		coupon()
	case refundflow.RecordedCourse:
		switchTo(2)
		switch r.Reason {
		case policy.ReasonNotAsExpected:
			tutoring()
		case policy.ReasonChangedMind, policy.ReasonOther:
			add(refundflow.OfferExtendAccess, "",
				fmt.Sprintf("%d more days of access", ExtensionDays), fmt.Sprintf("延长 %d 天学习期", ExtensionDays),
				fmt.Sprintf("Keep the course with %d extra days to finish it at your own pace.", ExtensionDays),
				fmt.Sprintf("保留课程，并额外延长 %d 天学习期，按您的节奏学完。", ExtensionDays))
		}
		coupon()
	case refundflow.Membership:
		add(refundflow.OfferExtendAccess, "",
			fmt.Sprintf("%d more days of membership", ExtensionDays), fmt.Sprintf("会员延长 %d 天", ExtensionDays),
			fmt.Sprintf("Keep your membership and get %d extra days free.", ExtensionDays),
			fmt.Sprintf("保留会员，并免费延长 %d 天。", ExtensionDays))
	}
	return out
}
