// The Kubernetes examples against the gateway configs they ship (deploy/kubernetes/*/gateway.yaml)
// and the container recipe: the config loads and passes the start-up scope check; the container
// mounts it where --config points; the listen ports are the container's ports, the Service's
// targets and the image's EXPOSE; probes hit /health/ready and /health/live on the REST port;
// terminationGracePeriodSeconds covers preStop + limits.drain_grace_ms + a margin; credentials
// come from the template Secret; the image tag is this build's version.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "server/config.h"
#include "server/identity/scope_policy.h"

namespace agentgateway {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

const std::string kRoot = std::string(AG_SOURCE_DIR) + "/deploy/kubernetes/";

int Port(const std::string& host_port) {
  return std::stoi(host_port.substr(host_port.rfind(':') + 1));
}
std::string Host(const std::string& host_port) { return host_port.substr(0, host_port.rfind(':')); }

// The agent-gateway container of a pod spec (a container or a native sidecar).
YAML::Node GatewayContainer(const YAML::Node& pod) {
  for (const char* list : {"containers", "initContainers"}) {
    for (const YAML::Node& c : pod[list]) {
      if (c["image"].as<std::string>() == "agent-gateway") return c;
    }
  }
  return YAML::Node();
}

// containerPort of a probe's `port` (a name or a number).
int ProbePort(const YAML::Node& container, const YAML::Node& port) {
  for (const YAML::Node& p : container["ports"]) {
    if (p["name"] && p["name"].as<std::string>() == port.as<std::string>()) {
      return p["containerPort"].as<int>();
    }
  }
  return port.as<int>();
}

class KubernetesExampleTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = kRoot + GetParam() + "/";
    kustomization_ = YAML::LoadFile(dir_ + "kustomization.yaml");
    deployment_ = YAML::LoadFile(dir_ + "deployment.yaml");
    pod_ = deployment_["spec"]["template"]["spec"];
    gateway_ = GatewayContainer(pod_);
    ASSERT_TRUE(gateway_) << dir_ << "deployment.yaml has no container with image agent-gateway";
    const YAML::Node generator = kustomization_["configMapGenerator"][0];
    config_map_ = generator["name"].as<std::string>();
    ASSERT_EQ(generator["files"][0].as<std::string>(), "gateway.yaml");
    auto config = LoadConfigFile(dir_ + "gateway.yaml");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *std::move(config);
  }

  std::string dir_;
  YAML::Node kustomization_, deployment_, pod_, gateway_;
  std::string config_map_;
  Config config_;
};

TEST_P(KubernetesExampleTest, ConfigPassesTheStartUpChecks) {
  EXPECT_TRUE(identity::CheckUserProfiles(config_, config_.identity.user_api_scopes,
                                          identity::ScopeTable::Defaults())
                  .ok());
  EXPECT_FALSE(config_.listen.http_tls.enabled()) << "the probes below use plain HTTP";
}

TEST_P(KubernetesExampleTest, ContainerReadsTheConfigMapWhereConfigPoints) {
  const auto args = gateway_["args"].as<std::vector<std::string>>();
  auto flag = std::find(args.begin(), args.end(), "--config");
  ASSERT_NE(flag, args.end());
  ASSERT_NE(flag + 1, args.end());
  const std::string path = *(flag + 1);
  ASSERT_EQ(path.substr(path.rfind('/') + 1), "gateway.yaml");
  std::string volume;
  for (const YAML::Node& v : pod_["volumes"]) {
    if (v["configMap"] && v["configMap"]["name"].as<std::string>() == config_map_) {
      volume = v["name"].as<std::string>();
    }
  }
  ASSERT_FALSE(volume.empty()) << "no volume from ConfigMap " << config_map_;
  bool mounted = false;
  for (const YAML::Node& m : gateway_["volumeMounts"]) {
    mounted |= m["name"].as<std::string>() == volume &&
               m["mountPath"].as<std::string>() == path.substr(0, path.rfind('/'));
  }
  EXPECT_TRUE(mounted) << "volume " << volume << " is not mounted at the folder of " << path;
}

TEST_P(KubernetesExampleTest, ListenAddressesAreTheContainerPortsOnEveryInterface) {
  EXPECT_EQ(Host(config_.listen.http_address), "0.0.0.0") << "probes come to the pod's address";
  EXPECT_EQ(Host(config_.listen.grpc_address), "0.0.0.0");
  std::vector<int> ports;
  for (const YAML::Node& p : gateway_["ports"]) ports.push_back(p["containerPort"].as<int>());
  EXPECT_THAT(ports, Contains(Port(config_.listen.http_address)));
  EXPECT_THAT(ports, Contains(Port(config_.listen.grpc_address)));
}

TEST_P(KubernetesExampleTest, ProbesUseTheHealthRoutesOnTheRestPort) {
  const std::pair<const char*, const char*> probes[] = {
      {"readinessProbe", "/health/ready"}, {"livenessProbe", "/health/live"},
      {"startupProbe", "/health/live"}};
  for (const auto& [probe, route] : probes) {
    const YAML::Node get = gateway_[probe]["httpGet"];
    ASSERT_TRUE(get) << probe << " missing or not httpGet";
    EXPECT_EQ(get["path"].as<std::string>(), route) << probe;
    EXPECT_EQ(ProbePort(gateway_, get["port"]), Port(config_.listen.http_address)) << probe;
  }
}

TEST_P(KubernetesExampleTest, TerminationGraceCoversPreStopAndTheDrain) {
  const int pre_stop = gateway_["lifecycle"]["preStop"]["sleep"]["seconds"].as<int>(0);
  const auto drain_s = (config_.limits.drain_grace.count() + 999) / 1000;
  const int grace = pod_["terminationGracePeriodSeconds"].as<int>();
  EXPECT_GE(grace, pre_stop + drain_s + 5)
      << "terminationGracePeriodSeconds " << grace << " < preStop " << pre_stop
      << " s + limits.drain_grace_ms " << config_.limits.drain_grace.count() << " ms + 5 s";
}

TEST_P(KubernetesExampleTest, CredentialsComeFromTheTemplateSecret) {
  const YAML::Node secret = YAML::LoadFile(kRoot + "credentials/secret.yaml");
  for (const char* name : {"DATABRICKS_HOST", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"}) {
    bool found = false;
    for (const YAML::Node& e : gateway_["env"]) {
      if (e["name"].as<std::string>() != name) continue;
      const YAML::Node ref = e["valueFrom"]["secretKeyRef"];
      ASSERT_TRUE(ref) << name << " must come from a Secret";
      EXPECT_EQ(ref["name"].as<std::string>(), secret["metadata"]["name"].as<std::string>());
      EXPECT_TRUE(secret["stringData"][ref["key"].as<std::string>()]) << name;
      found = true;
    }
    EXPECT_TRUE(found) << name << " not set";
  }
}

TEST_P(KubernetesExampleTest, ImageTagIsThisVersion) {
  bool found = false;
  for (const YAML::Node& image : kustomization_["images"]) {
    if (image["name"].as<std::string>() != "agent-gateway") continue;
    EXPECT_EQ(image["newTag"].as<std::string>(), AGENTGATEWAY_VERSION)
        << "bump deploy/kubernetes/" << GetParam() << "/kustomization.yaml with the version";
    found = true;
  }
  EXPECT_TRUE(found);
}

INSTANTIATE_TEST_SUITE_P(Examples, KubernetesExampleTest, ::testing::Values("base", "sidecar"));

TEST(StandaloneTest, ServiceTargetsTheConfiguredPortsAndTrustsNoProxy) {
  auto config = LoadConfigFile(kRoot + "base/gateway.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->identity.trusted_proxy, std::optional<bool>(false))
      << "nothing in front of a standalone gateway strips X-Forwarded-Access-Token";
  const YAML::Node pod = YAML::LoadFile(kRoot + "base/deployment.yaml")["spec"]["template"]["spec"];
  const YAML::Node gateway = GatewayContainer(pod);
  for (const YAML::Node& service : YAML::LoadAllFromFile(kRoot + "base/service.yaml")) {
    for (const YAML::Node& port : service["spec"]["ports"]) {
      const int target = ProbePort(gateway, port["targetPort"]);
      EXPECT_TRUE(target == Port(config->listen.http_address) ||
                  target == Port(config->listen.grpc_address))
          << service["metadata"]["name"] << " port " << port["name"];
    }
  }
  const YAML::Node hpa = YAML::LoadFile(kRoot + "base/hpa.yaml");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"].as<std::string>(), "agent-gateway");
  EXPECT_GE(hpa["spec"]["minReplicas"].as<int>(), 2) << "the PDB needs a second pod to evict one";
}

TEST(ContainerRecipeTest, ExposesTheStandalonePorts) {
  std::ifstream in(std::string(AG_SOURCE_DIR) + "/deploy/Dockerfile");
  std::stringstream text;
  text << in.rdbuf();
  auto config = LoadConfigFile(kRoot + "base/gateway.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string expose = "EXPOSE " + std::to_string(Port(config->listen.http_address)) + " " +
                             std::to_string(Port(config->listen.grpc_address)) + "\n";
  EXPECT_THAT(text.str(), HasSubstr(expose));
  EXPECT_THAT(text.str(),
              HasSubstr("\"0.0.0.0:" + std::to_string(Port(config->listen.http_address))));
}

}  // namespace
}  // namespace agentgateway
