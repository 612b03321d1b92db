// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test token that, once armed, calls `reentryTarget` with `payload` from inside every transfer
/// (a malicious token re-entering the contract that moves it). The inner revert is bubbled up.
contract ReentrantToken is ERC20 {
    address public reentryTarget;
    bytes public payload;

    constructor() ERC20("Reentrant", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        reentryTarget = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = reentryTarget;
        if (t != address(0) && from != address(0) && to != address(0)) {
            reentryTarget = address(0); // one re-entry per arm
            (bool ok, bytes memory ret) = t.call(payload);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}
