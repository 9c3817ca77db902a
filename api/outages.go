package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/refundflow/refundflow"
)

type outageRequest struct {
	ID         *string  `json:"id"`
	ProductIDs []string `json:"product_ids"`
	StartedAt  *string  `json:"started_at"`
	EndedAt    *string  `json:"ended_at"`
	Reason     string   `json:"reason"`
}

func (s *Server) postOutage(c *gin.Context) {
	var req outageRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	var pr refundflow.Problems
	o := &refundflow.Outage{
		ProductIDs: req.ProductIDs,
		StartedAt:  requireTime(&pr, "started_at", req.StartedAt),
		EndedAt:    parseTime(&pr, "ended_at", req.EndedAt),
		Reason:     req.Reason,
	}
	if req.ID != nil {
		o.ID = *req.ID
	} else {
		o.ID = refundflow.NewID("out")
	}
	if err := validate(pr, o.Validate()); err != nil {
		s.fail(c, err)
		return
	}
	if err := o.CheckTimes(s.Now()); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	for i, id := range o.ProductIDs {
		if _, err := s.DB.GetProduct(ctx, id); err != nil {
			if refundflow.ErrorKind(err) == refundflow.ENOTFOUND {
				err = &refundflow.Error{Kind: refundflow.EUNPROCESSABLE, Code: "unknown_product",
					Field: "product_ids[" + itoa(i) + "]", Message: "product " + id + " is not known"}
			}
			s.fail(c, err)
			return
		}
	}
	if err := s.DB.CreateOutage(ctx, o); err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusCreated, o)
}

func (s *Server) getOutage(c *gin.Context) {
	o, err := s.DB.GetOutage(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusOK, o)
}

type remediateRequest struct {
	Mode string `json:"mode"`
}

// postRemediate serves POST /v1/outages/{id}/remediate.
func (s *Server) postRemediate(c *gin.Context) {
	var req remediateRequest
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	o, err := s.RemediateOutage(c.Request.Context(), caller(c), c.Param("id"), req.Mode)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusAccepted, o)
}

// postCancelRemediation serves POST /v1/outages/{id}/cancel.
func (s *Server) postCancelRemediation(c *gin.Context) {
	o, err := s.CancelRemediation(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondOutage(c, http.StatusOK, o)
}

// respondOutage answers with the outage and its remediation's progress.
func (s *Server) respondOutage(c *gin.Context, status int, o *refundflow.Outage) {
	out, err := s.DescribeOutage(c.Request.Context(), o)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, out)
}
