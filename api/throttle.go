package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow/web"
)

// withClientAddress hands the console the client address as the API sees
// it (gin's ClientIP, which trusts X-Forwarded-For only from
// TRUSTED_PROXIES).
func withClientAddress(c *gin.Context) *http.Request {
	return web.WithClientAddress(c.Request, c.ClientIP())
}
