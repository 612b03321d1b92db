/**
 * UPowError lives in the bottom layer (protocol/errors.ts) so protocol/ can throw it without
 * importing anything above itself; this path stays for the code above protocol/.
 */
export { UPowError } from "./protocol/errors";
