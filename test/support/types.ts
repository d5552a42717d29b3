// The Pulumi type tokens the tests look recorded resources up by, named once.
export const CONTAINER = "docker:index/container:Container";
export const IMAGE = "docker:index/image:Image";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const LOCAL_COMMAND = "command:local:Command";
export const REMOTE_COMMAND = "command:remote:Command";
