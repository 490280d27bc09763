package idc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parsedServiceConfig is the part of a gRPC service config the options
// write, parsed back from JSON.
type parsedServiceConfig struct {
	LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
	MethodConfig        []struct {
		Name []struct {
			Service string `json:"service"`
			Method  string `json:"method"`
		} `json:"name"`
		RetryPolicy *struct {
			MaxAttempts          int      `json:"maxAttempts"`
			InitialBackoff       string   `json:"initialBackoff"`
			MaxBackoff           string   `json:"maxBackoff"`
			BackoffMultiplier    float64  `json:"backoffMultiplier"`
			RetryableStatusCodes []string `json:"retryableStatusCodes"`
		} `json:"retryPolicy"`
	} `json:"methodConfig"`
	RetryThrottling *struct {
		MaxTokens  int     `json:"maxTokens"`
		TokenRatio float64 `json:"tokenRatio"`
	} `json:"retryThrottling"`
	HealthCheckConfig *struct {
		ServiceName string `json:"serviceName"`
	} `json:"healthCheckConfig"`
}

func serviceConfigOf(t *testing.T, opts ...Option) (string, parsedServiceConfig) {
	t.Helper()
	cfg := newConfig(opts)
	js, err := cfg.serviceConfig()
	if err != nil {
		t.Fatalf("serviceConfig: %v", err)
	}
	var sc parsedServiceConfig
	if js != "" {
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sc); err != nil {
			t.Fatalf("service config %s does not parse: %v", js, err)
		}
	}
	// gRPC must accept it too.
	if _, err := cfg.grpcDialOptions(); err != nil {
		t.Fatalf("grpcDialOptions: %v", err)
	}
	c, err := Dial("localhost:1", opts...)
	if err != nil {
		t.Fatalf("Dial with service config %s: %v", js, err)
	}
	_ = c.Close()
	return js, sc
}

func retryAttempts(t *testing.T, sc parsedServiceConfig) int {
	t.Helper()
	if len(sc.MethodConfig) == 0 {
		return 0
	}
	if len(sc.MethodConfig) != 1 {
		t.Fatalf("got %d method configs, want 1", len(sc.MethodConfig))
	}
	mc := sc.MethodConfig[0]
	var services []string
	for _, n := range mc.Name {
		if n.Method != "" {
			t.Errorf("name %+v limits the policy to one method", n)
		}
		services = append(services, n.Service)
	}
	want := []string{"idc.v1.IndicatorService", "idc.v1.IndicatorGraphService", "idc.Indicator", "idc.IndicatorGraph"}
	if !reflect.DeepEqual(services, want) {
		t.Errorf("retry policy covers %v, want %v", services, want)
	}
	rp := mc.RetryPolicy
	if rp == nil {
		t.Fatal("method config has no retryPolicy")
	}
	if rp.InitialBackoff != "0.1s" || rp.MaxBackoff != "1s" || rp.BackoffMultiplier != 2 {
		t.Errorf("backoff = %s..%s x%v, want 0.1s..1s x2", rp.InitialBackoff, rp.MaxBackoff, rp.BackoffMultiplier)
	}
	if !reflect.DeepEqual(rp.RetryableStatusCodes, []string{"UNAVAILABLE"}) {
		t.Errorf("retryableStatusCodes = %v, want [UNAVAILABLE]", rp.RetryableStatusCodes)
	}
	if th := sc.RetryThrottling; th == nil || th.MaxTokens != 10 || th.TokenRatio != 0.1 {
		t.Errorf("retryThrottling = %+v, want 10 tokens, ratio 0.1", th)
	}
	return rp.MaxAttempts
}

func TestServiceConfig(t *testing.T) {
	t.Run("default retries UNAVAILABLE on every idc service", func(t *testing.T) {
		_, sc := serviceConfigOf(t)
		if got := retryAttempts(t, sc); got != DefaultRetryAttempts {
			t.Errorf("maxAttempts = %d, want %d", got, DefaultRetryAttempts)
		}
		if sc.LoadBalancingConfig != nil || sc.HealthCheckConfig != nil {
			t.Errorf("default config sets load balancing %v or health checks %v", sc.LoadBalancingConfig, sc.HealthCheckConfig)
		}
	})

	t.Run("WithRetry sets the attempts", func(t *testing.T) {
		for _, tc := range []struct{ n, want int }{{2, 2}, {5, 5}, {9, 5}} {
			_, sc := serviceConfigOf(t, WithRetry(tc.n))
			if got := retryAttempts(t, sc); got != tc.want {
				t.Errorf("WithRetry(%d): maxAttempts = %d, want %d", tc.n, got, tc.want)
			}
		}
	})

	t.Run("WithRetry(1) and below turn retries off", func(t *testing.T) {
		for _, n := range []int{1, 0, -1} {
			if js, _ := serviceConfigOf(t, WithRetry(n)); js != "" {
				t.Errorf("WithRetry(%d): service config %s, want none", n, js)
			}
		}
		js, sc := serviceConfigOf(t, WithRetry(1), WithLoadBalancing("round_robin"))
		if sc.MethodConfig != nil || sc.RetryThrottling != nil {
			t.Errorf("WithRetry(1): service config %s still retries", js)
		}
	})

	t.Run("WithLoadBalancing is merged with the retry policy", func(t *testing.T) {
		js, sc := serviceConfigOf(t, WithLoadBalancing("round_robin"), WithRetry(4))
		if len(sc.LoadBalancingConfig) != 1 {
			t.Fatalf("loadBalancingConfig in %s, want one policy", js)
		}
		cfg, ok := sc.LoadBalancingConfig[0]["round_robin"]
		if !ok || len(sc.LoadBalancingConfig[0]) != 1 || string(cfg) != "{}" {
			t.Errorf("loadBalancingConfig = %s, want [{\"round_robin\":{}}]", js)
		}
		if got := retryAttempts(t, sc); got != 4 {
			t.Errorf("maxAttempts = %d, want 4", got)
		}
	})

	t.Run("WithHealthCheck", func(t *testing.T) {
		js, sc := serviceConfigOf(t, WithLoadBalancing("round_robin"), WithHealthCheck("idc.v1.IndicatorService"))
		if sc.HealthCheckConfig == nil || sc.HealthCheckConfig.ServiceName != "idc.v1.IndicatorService" {
			t.Errorf("healthCheckConfig in %s, want serviceName idc.v1.IndicatorService", js)
		}
		js, sc = serviceConfigOf(t, WithRetry(0), WithHealthCheck(""))
		if sc.HealthCheckConfig == nil || sc.HealthCheckConfig.ServiceName != "" || !strings.Contains(js, `"serviceName":""`) {
			t.Errorf("healthCheckConfig in %s, want serviceName \"\"", js)
		}
	})

	t.Run("unknown policy", func(t *testing.T) {
		_, err := Dial("localhost:1", WithLoadBalancing("no_such_policy"))
		if err == nil || !strings.Contains(err.Error(), `unknown load-balancing policy "no_such_policy"`) {
			t.Errorf("Dial error = %v, want unknown load-balancing policy", err)
		}
	})
}

func TestKeepaliveOption(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		if cfg := newConfig(nil); cfg.keepalive != nil {
			t.Errorf("keepalive = %+v, want off", cfg.keepalive)
		}
	})
	t.Run("sets the parameters and pings without calls", func(t *testing.T) {
		cfg := newConfig([]Option{WithKeepalive(30*time.Second, 5*time.Second)})
		k := cfg.keepalive
		if k == nil || k.Time != 30*time.Second || k.Timeout != 5*time.Second || !k.PermitWithoutStream {
			t.Errorf("keepalive = %+v, want 30s, 5s, PermitWithoutStream", k)
		}
		if _, err := cfg.grpcDialOptions(); err != nil {
			t.Errorf("grpcDialOptions: %v", err)
		}
	})
	t.Run("zero time turns it off again", func(t *testing.T) {
		if cfg := newConfig([]Option{WithKeepalive(time.Minute, 0), WithKeepalive(0, 0)}); cfg.keepalive != nil {
			t.Errorf("keepalive = %+v, want off", cfg.keepalive)
		}
	})
	t.Run("the server's 10 s minimum", func(t *testing.T) {
		c, err := Dial("localhost:1", WithKeepalive(10*time.Second, 0))
		if err != nil {
			t.Fatalf("Dial with 10s: %v", err)
		}
		_ = c.Close()
		_, err = Dial("localhost:1", WithKeepalive(9*time.Second, time.Second))
		if err == nil || !strings.Contains(err.Error(), "below the 10s") {
			t.Errorf("Dial with 9s: error %v, want below the 10s minimum", err)
		}
	})
}
