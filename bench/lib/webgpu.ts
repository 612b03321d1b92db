/**
 * What adapter the WebGPU EP runs on here, for labelling bench rows (issue 19). onnxruntime-node does
 * not report Dawn's adapter, so this reads the machine: with Mesa's lavapipe ICD installed
 * (scripts/setup-webgpu.sh) and no GPU device node, the only Vulkan device is the software
 * rasteriser; with a GPU device node or VK_DRIVER_FILES naming another ICD, it is a hardware driver.
 */
import { existsSync, readdirSync } from "node:fs";

export function webgpuAdapterKind(): string {
  const icdDir = "/usr/share/vulkan/icd.d";
  const lavapipe = existsSync(icdDir) && readdirSync(icdDir).some((f) => f.startsWith("lvp_icd"));
  const driverFiles = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? "";
  const gpuNode = existsSync("/dev/nvidia0") || (existsSync("/dev/dri") && readdirSync("/dev/dri").some((f) => f.startsWith("renderD")));
  if (driverFiles !== "" && !/lvp_icd/.test(driverFiles)) return `Vulkan driver ${driverFiles}`;
  if (lavapipe && (!gpuNode || /lvp_icd/.test(driverFiles))) return "software Vulkan: Mesa lavapipe";
  return gpuNode ? "Vulkan (hardware GPU, driver not identified)" : "unknown Vulkan adapter";
}
